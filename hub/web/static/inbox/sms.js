// How many SMS a text makes: what the agent pays for and the customer's phone joins together.
// GSM-7 carries 160 characters in one SMS and 153 in each part of a longer one; a text with any
// character outside it (Chinese, most emoji) goes as UCS-2: 70 characters, 67 per part.
const GSM7 = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
// the extension table: each takes an escape and itself, two septets
const GSM7_EXTENDED = "^{}\\[~]|€\f";

/** { segments, unicode, length } of `text` as an SMS. */
export function smsSegments(text) {
  let septets = 0;
  for (const ch of text) {
    if (GSM7.includes(ch)) septets += 1;
    else if (GSM7_EXTENDED.includes(ch)) septets += 2;
    else {
      // UCS-2 counts UTF-16 code units: a character beyond the BMP (an emoji) takes two.
      const units = text.length;
      return { segments: units === 0 ? 0 : units <= 70 ? 1 : Math.ceil(units / 67), unicode: true, length: units };
    }
  }
  return { segments: septets === 0 ? 0 : septets <= 160 ? 1 : Math.ceil(septets / 153), unicode: false, length: septets };
}
