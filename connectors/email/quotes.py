"""What a reply's writer just wrote, without the history and signature their mail client added.

Clients mark the quoted history in one of three ways, all handled line by line: an
attribution ("On ... wrote:", "在 ... 写道：") over ``>``-prefixed lines; a separator
("-----Original Message-----", "------------------ 原始邮件 ------------------"); or a block
of the original's headers ("From: / Sent: / To: / Subject:", "发件人: / 发送时间: / 主题:").
"""

from __future__ import annotations

import re

_QUOTED = re.compile(r"^\s*>")

#: lines that open the quoted original in Outlook, AOL, Yahoo, QQ Mail, Foxmail and NetEase
_SEPARATOR = re.compile(
    r"^\s*-{2,}\s*(?:original message|original|mensaje original|message d'origine"
    r"|ursprüngliche nachricht|исходное сообщение|原始邮件|原始郵件|邮件原件|郵件原件"
    r"|原邮件|回复的原邮件)\s*-{2,}\s*$",
    re.IGNORECASE,
)

_FROM_KEY = r"from|发件人|發件人|寄件者|寄件人|de|von|van|от"
_WHEN_KEY = (
    r"sent|date|subject|发送时间|發送時間|时间|時間|日期|寄件日期|主题|主題|主旨"
    r"|gesendet|datum|betreff|envoyé|objet|enviado|asunto|отправлено|дата|тема"
)
_OTHER_KEY = r"to|cc|收件人|收件者|抄送|副本|an|à|para|кому|копия"
#: one header of a quoted original, as Outlook and the Chinese clients write it ("发件人：" too)
_HEADER = re.compile(
    rf"^\s*(?:\*\s*)?(?P<key>{_FROM_KEY}|{_WHEN_KEY}|{_OTHER_KEY})\s*(?:\*\s*)?[:：]", re.IGNORECASE
)
_HEADER_WINDOW = 6

#: "-- " is the standard signature separator; clients and HTML conversion drop its space
_SIGNATURE = re.compile(r"^\s*--\s*$")
_DEVICE = re.compile(
    r"^\s*(?:sent from my [^,.;!?]{1,40}|sent from (?:mail|outlook|yahoo mail) [^,.;!?]{0,40}"
    r"|get outlook for [^,.;!?]{1,20}|(?:发自|来自|寄自)我的\s*\S{1,20}|从我的\s*\S{1,20}发送"
    r"|發自我的\s*\S{1,20}|(?:发自|来自)\s*(?:网易邮箱大师|QQ邮箱|Foxmail|\S{0,10}手机))\s*$",
    re.IGNORECASE,
)

#: how an attribution starts: "On", "Le", "Am", "在", a date, or a weekday
_OPENER = re.compile(
    r"^[\s>*-]*(?:(?:on|am|le|el|il|op|em|den|at)\s|w dniu\s|在|"
    r"\d{1,4}[./\-年]\d{1,2}|(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s)",
    re.IGNORECASE,
)
_VERB = re.compile(
    r"(?:wrote|schrieb|a écrit|escribió|ha scritto|написала?|пишет|写道|寫道)\s*[:：]$",
    re.IGNORECASE,
)
#: an attribution wraps over at most this many lines (long names and addresses)
_ATTRIBUTION_LINES = 3
_ADDRESS_ONLY = re.compile(r"<?[^\s@<>]+@[^\s@<>.]+(?:\.[^\s@<>.]+)+>?")
_RULE_ONLY = re.compile(r"^[\s\-_=*~—]*$")


def new_part(text: str) -> str:
    """The text its writer added: quoted history, attributions and signature folded away.

    Inline answers between quoted lines are kept. Returns "" when nothing new was written (a
    forward without comment); callers show the full text then.
    """
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return _tidy(_unquoted(lines))


def _unquoted(lines: list[str]) -> list[str]:
    kept: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if _QUOTED.match(line):
            index += 1
            continue
        if _SEPARATOR.match(line) or _SIGNATURE.match(line) or _DEVICE.match(line):
            break
        if _header_block(lines, index):
            _drop_address_signature(kept)
            break
        attribution = _attribution(lines, index)
        if attribution is not None:
            end, cuts = attribution
            if _quote_follows(lines, end):
                index = end
                continue
            if cuts:
                break
        kept.append(line)
        index += 1
    return kept


def _header_block(lines: list[str], index: int) -> bool:
    """Whether the original's headers start here: a sender and a date or subject, close together."""
    if not _HEADER.match(lines[index]):
        return False
    keys: set[str] = set()
    for line in lines[index : index + _HEADER_WINDOW]:
        match = _HEADER.match(line)
        if match:
            keys.add(_kind_of(match["key"].lower()))
    return {"from", "when"} <= keys


def _kind_of(key: str) -> str:
    if re.fullmatch(_FROM_KEY, key):
        return "from"
    if re.fullmatch(_WHEN_KEY, key):
        return "when"
    return "other"


def _attribution(lines: list[str], index: int) -> tuple[int, bool] | None:
    """``(end, cuts)`` when lines from ``index`` attribute a quote ("On ... wrote:").

    ``cuts``: whether it is sure enough to end the reply even with no ``>`` quote below it;
    a lone "... wrote:" line needs a date or address for that, or it may be the writer's own.
    """
    opened = bool(_OPENER.match(lines[index]))
    for end in range(index + 1, min(index + _ATTRIBUTION_LINES, len(lines)) + 1):
        if not lines[end - 1].strip():
            return None
        joined = " ".join(line.strip() for line in lines[index:end])
        if not joined.endswith((":", "：")):
            continue
        written = bool(_VERB.search(joined))
        single = end == index + 1
        if not opened and not (single and written):
            return None
        evidence = opened or bool(re.search(r"\d|@", joined))
        return end, written and evidence
    return None


def _quote_follows(lines: list[str], index: int) -> bool:
    for line in lines[index:]:
        if line.strip():
            return bool(_QUOTED.match(line))
    return False


def _drop_address_signature(kept: list[str]) -> None:
    # Foxmail signs a reply with the writer's bare address right above the quoted headers.
    while kept and not kept[-1].strip():
        kept.pop()
    if kept and _ADDRESS_ONLY.fullmatch(kept[-1].strip()):
        kept.pop()


def _tidy(lines: list[str]) -> str:
    while lines and _RULE_ONLY.match(lines[-1]):
        lines.pop()
    tidy: list[str] = []
    for line in lines:
        if line.strip() or (tidy and tidy[-1]):
            tidy.append(line if line.strip() else "")
    return "\n".join(tidy).strip("\n")
