// Routing settings in the admin pages: a team's assignment mode, capacity, answer timeout and queue limit; an agent's own capacity.
import * as api from "../api.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";

const MODES = ["manual", "round_robin", "least_busy"];

function row(label, input, hint) {
  return h("label", { class: "field-row" }, h("span", { class: "label", text: label }), input, hint ? h("span", { class: "muted small", text: hint }) : null);
}

/** An empty box means "none" (null); otherwise a whole number. */
function numberOrNull(input) {
  const text = input.value.trim();
  return text === "" ? null : Number(text);
}

/** The routing part of a team's form: `values()` is what a POST or PUT of the team sends. */
export function teamRoutingFields(team) {
  const mode = h("select", { name: "assignment_mode" },
    MODES.map((m) => h("option", { value: m, text: t(`routing.mode.${m}`), selected: (team?.assignment_mode || "manual") === m })));
  const capacity = h("input", { type: "number", name: "agent_capacity", min: "1", max: "100", required: true, value: String(team?.agent_capacity ?? 10) });
  const timeout = h("input", { type: "number", name: "answer_timeout_s", min: "10", max: "86400", placeholder: t("routing.none"), value: team?.answer_timeout_s == null ? "" : String(team.answer_timeout_s) });
  const limit = h("input", { type: "number", name: "queue_limit", min: "0", max: "10000", placeholder: t("routing.none"), value: team?.queue_limit == null ? "" : String(team.queue_limit) });
  const el = h("fieldset", { class: "routing-fields" },
    h("legend", { text: t("routing.title") }),
    row(t("routing.mode"), mode),
    h("div", { class: "grid3" },
      row(t("routing.capacity"), capacity, t("routing.capacityHint")),
      row(t("routing.timeout"), timeout, t("routing.timeoutHint")),
      row(t("routing.queueLimit"), limit, t("routing.queueLimitHint"))));
  return {
    el,
    values: () => ({
      assignment_mode: mode.value,
      agent_capacity: Number(capacity.value),
      answer_timeout_s: numberOrNull(timeout),
      queue_limit: numberOrNull(limit),
    }),
  };
}

/** An agent's own capacity, saved as it changes; empty: their teams' capacity. */
export function agentCapacityInput(agent, saved, failed) {
  const input = h("input", {
    type: "number", name: "capacity", min: "1", max: "100", class: "capacity-input",
    placeholder: t("agents.capacityTeam"), "aria-label": t("agents.capacity"), title: t("agents.capacityHint"),
    value: agent.capacity == null ? "" : String(agent.capacity),
  });
  input.addEventListener("change", async () => {
    try {
      await api.patch(`/agents/${agent.id}`, { capacity: numberOrNull(input) });
      saved();
    } catch (err) {
      failed(err.message);
    }
  });
  return input;
}
