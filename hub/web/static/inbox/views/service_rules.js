// Service rules (服务规则), an admin page: business hours of teams and channels (营业时间), and each
// channel's automatic messages (欢迎语, 非工作时间) and satisfaction rating request (满意度评价).
import * as api from "../api.js";
import { h } from "../dom.js";
import { t, addStrings, fmtDateTime, kindName } from "../i18n.js";

addStrings({
  en: {
    "svc.title": "Service rules",
    "svc.intro": "When your teams and channels serve customers, and what the hub sends by itself: a welcome when a conversation opens, a message outside business hours, and a satisfaction rating request when a conversation is resolved. Each goes at most once per conversation.",
    "svc.hours": "Business hours",
    "svc.hoursIntro": "A channel's own hours win over its team's. Without any, it is always open.",
    "svc.owner": "Whose hours",
    "svc.team": "Team: {name}",
    "svc.channel": "Channel: {name}",
    "svc.timezone": "Time zone",
    "svc.week": "Weekly schedule",
    "svc.weekHint": "One or more intervals a day, like 09:00-12:00, 13:30-18:00; empty: closed.",
    "svc.holidays": "Holidays",
    "svc.holidaysHint": "One date a line, like 2026-10-01.",
    "svc.workingDays": "Extra working days",
    "svc.workingDaysHint": "A date and its hours a line, like 2026-09-27 09:00-18:00.",
    "svc.saveHours": "Save business hours",
    "svc.removeHours": "Remove",
    "svc.none": "No business hours: always open.",
    "svc.openNow": "Open now.",
    "svc.closedNow": "Closed now; opens {when}.",
    "svc.closedNever": "Closed now, and no opening is ahead.",
    "svc.badInterval": "{day}: “{value}” is no interval like 09:00-18:00.",
    "svc.badLine": "“{value}” is no date with hours, like 2026-09-27 09:00-18:00.",
    "svc.messages": "Automatic messages and ratings",
    "svc.messagesIntro": "Per channel, in Chinese and English: customers get the one in their language where the hub knows it, else the channel's. An empty text sends the hub's own.",
    "svc.forChannel": "Channel",
    "svc.language": "The channel's language",
    "svc.msg.welcome": "Welcome message (欢迎语)",
    "svc.msg.out_of_hours": "Out-of-hours message",
    "svc.msg.rating_request": "Ask for a satisfaction rating when resolved",
    "svc.msg.rating_thanks": "Thanks for a rating given by a reply",
    "svc.way.reply": "Asked by a message: the customer's next reply of 1-5 is the rating.",
    "svc.way.link": "Asked with a link to a rating page that works once.",
    "svc.way.widget": "Asked with stars and a comment box in the chat widget.",
    "svc.replyHours": "Hours a rating may come after the request",
    "svc.saveRules": "Save automatic messages",
    "svc.zh": "Chinese",
    "svc.en": "English",
    "day.mon": "Monday", "day.tue": "Tuesday", "day.wed": "Wednesday", "day.thu": "Thursday",
    "day.fri": "Friday", "day.sat": "Saturday", "day.sun": "Sunday",
  },
  zh: {
    "svc.title": "服务规则",
    "svc.intro": "设置技能组和渠道的营业时间，以及系统自动发送的消息：会话开始时的欢迎语、非工作时间的提示，以及会话解决后的满意度评价邀请。每条消息在每个会话中最多发送一次。",
    "svc.hours": "营业时间",
    "svc.hoursIntro": "渠道自己的营业时间优先于其技能组的。未设置则始终营业。",
    "svc.owner": "设置对象",
    "svc.team": "技能组：{name}",
    "svc.channel": "渠道：{name}",
    "svc.timezone": "时区",
    "svc.week": "每周时间",
    "svc.weekHint": "每天一个或多个时段，如 09:00-12:00, 13:30-18:00；留空为休息。",
    "svc.holidays": "节假日",
    "svc.holidaysHint": "每行一个日期，如 2026-10-01。",
    "svc.workingDays": "调休上班日",
    "svc.workingDaysHint": "每行一个日期及时段，如 2026-09-27 09:00-18:00。",
    "svc.saveHours": "保存营业时间",
    "svc.removeHours": "删除",
    "svc.none": "未设置营业时间：始终营业。",
    "svc.openNow": "当前营业中。",
    "svc.closedNow": "当前非营业时间；{when} 开始营业。",
    "svc.closedNever": "当前非营业时间，且之后没有营业时段。",
    "svc.badInterval": "{day}：“{value}”不是 09:00-18:00 这样的时段。",
    "svc.badLine": "“{value}”不是 2026-09-27 09:00-18:00 这样的日期和时段。",
    "svc.messages": "自动消息与满意度评价",
    "svc.messagesIntro": "按渠道设置中英文内容：若知道客户的语言则用其语言，否则用渠道的语言。内容留空则发送系统默认文字。",
    "svc.forChannel": "渠道",
    "svc.language": "渠道语言",
    "svc.msg.welcome": "欢迎语",
    "svc.msg.out_of_hours": "非工作时间提示",
    "svc.msg.rating_request": "会话解决后邀请满意度评价",
    "svc.msg.rating_thanks": "客户回复评分后致谢",
    "svc.way.reply": "以消息邀请：客户下一条回复若为 1–5 即为评分。",
    "svc.way.link": "发送评价页面链接，仅可使用一次。",
    "svc.way.widget": "在聊天窗口中显示星级和意见框。",
    "svc.replyHours": "邀请后可评价的小时数",
    "svc.saveRules": "保存自动消息",
    "svc.zh": "中文",
    "svc.en": "英文",
    "day.mon": "周一", "day.tue": "周二", "day.wed": "周三", "day.thu": "周四",
    "day.fri": "周五", "day.sat": "周六", "day.sun": "周日",
  },
});

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const ZONES = ["Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Singapore", "Asia/Tokyo",
  "Europe/London", "Europe/Berlin", "America/New_York", "America/Los_Angeles", "UTC"];
const MESSAGES = ["welcome", "out_of_hours", "rating_request", "rating_thanks"];
const INTERVAL = /^\s*(\d{1,2}:\d{2})\s*[-–~至]\s*(\d{1,2}:\d{2})\s*$/;

function field(label, input, hint) {
  return h("label", { class: "field-row" }, h("span", { class: "label", text: label }), input, hint ? h("span", { class: "muted small", text: hint }) : null);
}

function say(el, text, ok = false) {
  el.textContent = text;
  el.className = ok ? "form-ok" : "form-error";
  el.hidden = !text;
}

const pad = (clock) => (clock.length === 4 ? `0${clock}` : clock);

/** "09:00-12:00, 13:30-18:00" as [{start, end}], or an Error naming what is wrong. */
function intervals(text, day) {
  return text.split(/[,，;；]/).map((part) => part.trim()).filter(Boolean).map((part) => {
    const found = INTERVAL.exec(part);
    if (!found) throw new Error(t("svc.badInterval", { day, value: part }));
    return { start: pad(found[1]), end: pad(found[2]) };
  });
}

const intervalText = (list) => list.map((i) => `${i.start}-${i.end}`).join(", ");

function statusText(hours) {
  if (!hours) return t("svc.none");
  if (hours.open_now) return t("svc.openNow");
  return hours.next_opening ? t("svc.closedNow", { when: fmtDateTime(hours.next_opening) }) : t("svc.closedNever");
}

/** The business hours of one team or channel: read, saved, removed. */
function hoursForm(owner, found, onChange) {
  const zone = h("input", { name: "timezone", list: "svc-zones", required: true, maxlength: "64", "data-testid": "hours-timezone",
    value: found?.timezone || Intl.DateTimeFormat().resolvedOptions().timeZone || "Asia/Shanghai" });
  const days = DAYS.map((day) => {
    const input = h("input", { name: `hours-${day}`, "data-day": day, placeholder: "09:00-18:00",
      value: found ? intervalText(found.week[day]) : ["sat", "sun"].includes(day) ? "" : "09:00-18:00" });
    return { day, input, el: field(t(`day.${day}`), input) };
  });
  const holidays = h("textarea", { name: "holidays", rows: "3", placeholder: "2026-10-01", value: (found?.holidays || []).join("\n") });
  const working = h("textarea", { name: "working_days", rows: "2", placeholder: "2026-09-27 09:00-18:00",
    value: (found?.working_days || []).map((w) => `${w.date} ${intervalText(w.intervals)}`).join("\n") });
  const state = h("p", { class: "muted small", role: "status", "data-testid": "hours-status", text: statusText(found) });
  const status = h("p", { hidden: true, role: "alert" });
  const read = () => {
    const week = {};
    for (const { day, input } of days) week[day] = intervals(input.value, t(`day.${day}`));
    const lines = (text) => text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
    const working_days = lines(working.value).map((line) => {
      const [date, ...rest] = line.split(/\s+/);
      if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || !rest.length) throw new Error(t("svc.badLine", { value: line }));
      return { date, intervals: intervals(rest.join(" "), date) };
    });
    return { timezone: zone.value.trim(), week, holidays: lines(holidays.value), working_days };
  };
  const remove = h("button", { class: "btn", type: "button", hidden: !found, "data-action": "remove-hours", text: t("svc.removeHours"), onclick: async () => {
    try {
      await api.request("DELETE", owner.path);
      onChange();
    } catch (err) {
      say(status, err.message);
    }
  } });
  return h("form", { class: "panel-form hours", "data-testid": "hours-form", "data-owner": owner.key, onsubmit: async (e) => {
    e.preventDefault();
    let body;
    try {
      body = read();
    } catch (err) {
      say(status, err.message);
      return;
    }
    try {
      const saved = await api.put(owner.path, body);
      say(status, t("admin.saved"), true);
      state.textContent = statusText(saved);
      remove.hidden = false;
    } catch (err) {
      say(status, err.message); // the hub names what is wrong: "week.mon: 09:00-13:00 and 12:00-18:00 overlap"
    }
  } },
  h("datalist", { id: "svc-zones" }, ZONES.map((z) => h("option", { value: z }))),
  state,
  field(t("svc.timezone"), zone),
  h("div", { class: "label", text: t("svc.week") }),
  h("p", { class: "muted small", text: t("svc.weekHint") }),
  h("div", { class: "hours-week" }, days.map((d) => d.el)),
  field(t("svc.holidays"), holidays, t("svc.holidaysHint")),
  field(t("svc.workingDays"), working, t("svc.workingDaysHint")),
  status,
  h("div", { class: "form-actions" },
    h("button", { class: "btn primary", type: "submit", "data-action": "save-hours", text: t("svc.saveHours") }), remove));
}

/** A channel's automatic messages and rating request. */
function rulesForm(channel, rules) {
  const language = h("select", { name: "language" }, ["zh-CN", "en"].map((code) =>
    h("option", { value: code, text: code === "zh-CN" ? t("svc.zh") : t("svc.en"), selected: rules.language === code })));
  const replyHours = h("input", { name: "rating_reply_hours", type: "number", min: "1", max: "168", step: "1",
    value: String(Math.round(rules.rating_reply_s / 3600)) });
  const parts = MESSAGES.map((name) => {
    const message = rules.messages[name];
    const active = h("input", { type: "checkbox", name: `${name}-active`, checked: message.active });
    const texts = Object.fromEntries(["zh-CN", "en"].map((code) => [code, h("textarea", {
      name: `${name}-${code}`, rows: "2", maxlength: "1000", placeholder: message.default_texts[code] || "",
      "aria-label": `${t(`svc.msg.${name}`)} · ${code === "zh-CN" ? t("svc.zh") : t("svc.en")}`,
      value: message.texts[code] || "" })]));
    const way = name === "rating_request" && rules.rating_way ? h("p", { class: "muted small", text: t(`svc.way.${rules.rating_way}`) }) : null;
    const el = h("fieldset", { class: "auto-message", dataset: { message: name } },
      h("legend", {}, h("label", { class: "check" }, active, h("span", { text: t(`svc.msg.${name}`) }))),
      way,
      h("div", { class: "grid2" }, texts["zh-CN"], texts.en));
    return { name, active, texts, el };
  });
  const status = h("p", { hidden: true, role: "alert" });
  return h("form", { class: "panel-form", "data-testid": "rules-form", onsubmit: async (e) => {
    e.preventDefault();
    const messages = Object.fromEntries(parts.map((p) => [p.name, {
      active: p.active.checked,
      texts: { "zh-CN": p.texts["zh-CN"].value.trim(), en: p.texts.en.value.trim() },
    }]));
    try {
      await api.put(`/channels/${channel.id}/service-rules`, {
        language: language.value,
        rating_reply_s: Math.round(Number(replyHours.value || 24) * 3600),
        messages,
      });
      say(status, t("admin.saved"), true);
    } catch (err) {
      say(status, err.message);
    }
  } },
  field(t("svc.language"), language),
  parts.map((p) => p.el),
  field(t("svc.replyHours"), replyHours),
  status,
  h("div", { class: "form-actions" }, h("button", { class: "btn primary", type: "submit", "data-action": "save-rules", text: t("svc.saveRules") })));
}

export async function serviceRulesPage(body) {
  const [teams, channels, hours] = await Promise.all([api.get("/teams"), api.get("/channels"), api.get("/business-hours")]);
  const owners = [
    ...teams.items.map((tm) => ({ key: `team:${tm.id}`, label: t("svc.team", { name: tm.name }), path: `/teams/${tm.id}/business-hours`,
      found: hours.items.find((x) => x.team_id === tm.id) })),
    ...channels.items.map((c) => ({ key: `channel:${c.id}`, label: t("svc.channel", { name: `${c.name} · ${kindName(c.kind)}` }), path: `/channels/${c.id}/business-hours`,
      found: hours.items.find((x) => x.channel_id === c.id) })),
  ];
  const hoursBox = h("div", {});
  const ownerSelect = h("select", { name: "owner", "data-testid": "hours-owner", "aria-label": t("svc.owner") },
    owners.map((o) => h("option", { value: o.key, text: o.label })));
  const showHours = async (reload = false) => {
    const owner = owners.find((o) => o.key === ownerSelect.value);
    if (!owner) return;
    if (reload) {
      const fresh = await api.get("/business-hours");
      for (const o of owners) {
        const [kind, id] = o.key.split(":");
        o.found = fresh.items.find((x) => (kind === "team" ? x.team_id : x.channel_id) === Number(id));
      }
    }
    hoursBox.replaceChildren(hoursForm(owner, owner.found, () => showHours(true)));
  };
  ownerSelect.addEventListener("change", () => showHours(true));

  const rulesBox = h("div", {});
  const channelSelect = h("select", { name: "rules-channel", "data-testid": "rules-channel", "aria-label": t("svc.forChannel") },
    channels.items.map((c) => h("option", { value: String(c.id), text: `${c.name} · ${kindName(c.kind)}` })));
  const showRules = async () => {
    const channel = channels.items.find((c) => String(c.id) === channelSelect.value);
    if (!channel) return;
    rulesBox.replaceChildren(rulesForm(channel, await api.get(`/channels/${channel.id}/service-rules`)));
  };
  channelSelect.addEventListener("change", showRules);

  body.replaceChildren(
    h("div", { class: "admin-head" }, h("h1", { text: t("svc.title") })),
    h("p", { class: "muted", text: t("svc.intro") }),
    h("section", { class: "service-hours" },
      h("h2", { text: t("svc.hours") }),
      h("p", { class: "muted small", text: t("svc.hoursIntro") }),
      field(t("svc.owner"), ownerSelect),
      hoursBox),
    h("section", { class: "service-messages" },
      h("h2", { text: t("svc.messages") }),
      h("p", { class: "muted small", text: t("svc.messagesIntro") }),
      field(t("svc.forChannel"), channelSelect),
      rulesBox),
  );
  await Promise.all([showHours(), showRules()]);
}
