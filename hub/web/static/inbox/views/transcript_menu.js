// Downloading a conversation's transcript (聊天记录下载) from the thread's header.
import * as api from "../api.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";

const CHOICES = [
  ["html", "", "transcript.html"],
  ["csv", "", "transcript.csv"],
  ["html", "?internal=true", "transcript.internal"],
];

/** A menu whose choices download the transcript as a file. */
export function transcriptMenu(conversationId) {
  const select = h("select", { class: "select transcript-menu", "aria-label": t("transcript.download"), "data-action": "transcript", onchange: async () => {
    const choice = CHOICES[Number(select.value)];
    select.value = "";
    if (!choice) return;
    const [format, query] = choice;
    try {
      const { blob, filename } = await api.download(`/conversations/${conversationId}/transcript.${format}${query}`);
      const link = h("a", { href: URL.createObjectURL(blob), download: filename || `conversation-${conversationId}.${format}` });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    } catch (err) {
      alert(t("error.generic", { reason: err.message }));
    }
  } },
  h("option", { value: "", text: t("transcript.download") }),
  CHOICES.map(([, , label], i) => h("option", { value: String(i), text: t(label) })));
  return select;
}
