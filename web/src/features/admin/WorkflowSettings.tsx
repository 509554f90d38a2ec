import { useId } from "react";
import { useTranslation } from "react-i18next";

import {
  CHANGES,
  CHANNELS,
  RECIPIENTS,
  nextUid,
  type NotificationDraft,
  type RuleDraft,
  type WorkflowDraft,
} from "./workflow";

interface Props {
  draft: WorkflowDraft;
  /** The domain's appointment types (code, label), which a rule may be limited to. */
  types: { code: string; label: string }[];
  problems: Set<string>;
  onChange: (draft: WorkflowDraft) => void;
}

/** Auto-approval rules, holds and the waitlist, and which change notifies whom through which channels. */
export function WorkflowSettings({ draft, types, problems, onChange }: Props) {
  const { t } = useTranslation("admin");
  const id = useId();
  const set = (changes: Partial<WorkflowDraft>) => onChange({ ...draft, ...changes });
  const setRule = (uid: string, changes: Partial<RuleDraft>) =>
    set({ rules: draft.rules.map((rule) => (rule.uid === uid ? { ...rule, ...changes } : rule)) });
  const setNotification = (uid: string, changes: Partial<NotificationDraft>) =>
    set({ notifications: draft.notifications.map((rule) => (rule.uid === uid ? { ...rule, ...changes } : rule)) });
  const toggle = <T,>(list: T[], value: T, on: boolean) =>
    on ? [...list.filter((item) => item !== value), value] : list.filter((item) => item !== value);

  return (
    <>
      <section className="card" aria-labelledby={`${id}-approval`}>
        <h2 id={`${id}-approval`}>{t("workflow.approvalTitle")}</h2>
        <p className="hint">{t("workflow.approvalIntro")}</p>
        {draft.rules.length === 0 && <p className="empty">{t("workflow.noRules")}</p>}
        {draft.rules.map((rule, index) => (
          <fieldset key={rule.uid} data-testid="auto-approval-rule">
            <legend>{t("workflow.ruleLegend", { number: index + 1, name: rule.name })}</legend>
            <div className="admin-grid">
              <div className="field">
                <label htmlFor={`${id}-${rule.uid}-name`}>{t("workflow.ruleName")}</label>
                <input
                  id={`${id}-${rule.uid}-name`}
                  type="text"
                  spellCheck={false}
                  aria-describedby={`${id}-${rule.uid}-name-hint`}
                  value={rule.name}
                  onChange={(event) => setRule(rule.uid, { name: event.target.value })}
                />
                <p id={`${id}-${rule.uid}-name-hint`} className="hint">
                  {t("workflow.ruleNameHint")}
                </p>
              </div>
              <div className="field">
                <label htmlFor={`${id}-${rule.uid}-min`}>{t("workflow.minimumNotice")}</label>
                <input
                  id={`${id}-${rule.uid}-min`}
                  type="number"
                  min={0}
                  step="any"
                  value={rule.minimumNotice}
                  onChange={(event) => setRule(rule.uid, { minimumNotice: event.target.value })}
                />
              </div>
              <div className="field">
                <label htmlFor={`${id}-${rule.uid}-max`}>{t("workflow.maximumNotice")}</label>
                <input
                  id={`${id}-${rule.uid}-max`}
                  type="number"
                  min={0}
                  step="any"
                  aria-describedby={`${id}-${rule.uid}-max-hint`}
                  value={rule.maximumNotice}
                  onChange={(event) => setRule(rule.uid, { maximumNotice: event.target.value })}
                />
                <p id={`${id}-${rule.uid}-max-hint`} className="hint">
                  {t("workflow.maximumNoticeHint")}
                </p>
              </div>
            </div>
            <fieldset>
              <legend>{t("workflow.ruleTypes")}</legend>
              <p className="hint">{t("workflow.ruleTypesHint")}</p>
              {types.map((type) => (
                <div className="field checkbox" key={type.code}>
                  <input
                    id={`${id}-${rule.uid}-type-${type.code}`}
                    type="checkbox"
                    checked={rule.types.includes(type.code)}
                    onChange={(event) =>
                      setRule(rule.uid, { types: toggle(rule.types, type.code, event.target.checked) })
                    }
                  />
                  <label htmlFor={`${id}-${rule.uid}-type-${type.code}`}>{type.label || type.code}</label>
                </div>
              ))}
            </fieldset>
            <div className="field checkbox">
              <input
                id={`${id}-${rule.uid}-returning`}
                type="checkbox"
                checked={rule.returningOnly}
                onChange={(event) => setRule(rule.uid, { returningOnly: event.target.checked })}
              />
              <label htmlFor={`${id}-${rule.uid}-returning`}>{t("workflow.returningOnly")}</label>
            </div>
            <div className="field">
              <label htmlFor={`${id}-${rule.uid}-answers`}>{t("workflow.answers")}</label>
              <textarea
                id={`${id}-${rule.uid}-answers`}
                rows={2}
                spellCheck={false}
                aria-invalid={problems.has(`${rule.uid}-answers`)}
                aria-describedby={`${id}-${rule.uid}-answers-hint`}
                value={rule.answers}
                onChange={(event) => setRule(rule.uid, { answers: event.target.value })}
              />
              <p id={`${id}-${rule.uid}-answers-hint`} className="hint">
                {problems.has(`${rule.uid}-answers`) ? t("workflow.answersInvalid") : t("workflow.answersHint")}
              </p>
            </div>
            <button
              type="button"
              className="danger"
              onClick={() => set({ rules: draft.rules.filter((item) => item.uid !== rule.uid) })}
            >
              {t("workflow.removeRule", { name: rule.name || index + 1 })}
            </button>
          </fieldset>
        ))}
        <button
          type="button"
          className="secondary"
          onClick={() =>
            set({
              rules: [
                ...draft.rules,
                {
                  uid: nextUid("rule"),
                  name: `rule-${draft.rules.length + 1}`,
                  types: [],
                  minimumNotice: "0",
                  maximumNotice: "",
                  returningOnly: false,
                  answers: "",
                },
              ],
            })
          }
        >
          {t("workflow.addRule")}
        </button>
      </section>

      <section className="card" aria-labelledby={`${id}-holds`}>
        <h2 id={`${id}-holds`}>{t("workflow.holdsTitle")}</h2>
        <div className="admin-grid">
          <div className="field">
            <label htmlFor={`${id}-hold`}>{t("workflow.holdMinutes")}</label>
            <input
              id={`${id}-hold`}
              type="number"
              min={1}
              step="any"
              value={draft.holdMinutes}
              onChange={(event) => set({ holdMinutes: event.target.value })}
            />
          </div>
          <div className="field">
            <label htmlFor={`${id}-waitlist`}>{t("workflow.waitlistMinutes")}</label>
            <input
              id={`${id}-waitlist`}
              type="number"
              min={1}
              step="any"
              value={draft.waitlistMinutes}
              onChange={(event) => set({ waitlistMinutes: event.target.value })}
            />
          </div>
        </div>
      </section>

      <section className="card" aria-labelledby={`${id}-notifications`}>
        <h2 id={`${id}-notifications`}>{t("workflow.notificationsTitle")}</h2>
        <div className="field checkbox">
          <input
            id={`${id}-defaults`}
            type="checkbox"
            checked={draft.defaults}
            onChange={(event) => set({ defaults: event.target.checked })}
          />
          <label htmlFor={`${id}-defaults`}>{t("workflow.useDefaults")}</label>
        </div>
        <p className="hint">{draft.defaults ? t("workflow.defaultsHint") : t("workflow.ownHint")}</p>
        {!draft.defaults && (
          <>
            {draft.notifications.length === 0 && <p className="empty">{t("workflow.noNotifications")}</p>}
            {draft.notifications.map((rule, index) => (
              <fieldset key={rule.uid} data-testid="notification-rule">
                <legend>
                  {t("workflow.notificationLegend", {
                    number: index + 1,
                    change: t(`workflow.changes.${rule.change}`),
                  })}
                </legend>
                <div className="field">
                  <label htmlFor={`${id}-${rule.uid}-change`}>{t("workflow.change")}</label>
                  <select
                    id={`${id}-${rule.uid}-change`}
                    value={rule.change}
                    onChange={(event) =>
                      setNotification(rule.uid, { change: event.target.value as NotificationDraft["change"] })
                    }
                  >
                    {CHANGES.map((change) => (
                      <option key={change} value={change}>
                        {t(`workflow.changes.${change}`)}
                      </option>
                    ))}
                  </select>
                </div>
                <div className="admin-grid">
                  <Checkboxes
                    legend={t("workflow.recipients")}
                    idPrefix={`${id}-${rule.uid}-to`}
                    options={RECIPIENTS}
                    checked={rule.recipients}
                    label={(recipient) => t(`workflow.recipientNames.${recipient}`)}
                    onToggle={(recipient, on) =>
                      setNotification(rule.uid, { recipients: toggle(rule.recipients, recipient, on) })
                    }
                  />
                  <Checkboxes
                    legend={t("workflow.channels")}
                    idPrefix={`${id}-${rule.uid}-by`}
                    options={CHANNELS}
                    checked={rule.channels}
                    label={(channel) => t(`workflow.channelNames.${channel}`)}
                    onToggle={(channel, on) =>
                      setNotification(rule.uid, { channels: toggle(rule.channels, channel, on) })
                    }
                  />
                </div>
                {rule.change === "reminder" && (
                  <div className="field">
                    <label htmlFor={`${id}-${rule.uid}-hours`}>{t("workflow.beforeHours")}</label>
                    <input
                      id={`${id}-${rule.uid}-hours`}
                      type="text"
                      inputMode="decimal"
                      aria-invalid={problems.has(`${rule.uid}-hours`)}
                      aria-describedby={`${id}-${rule.uid}-hours-hint`}
                      value={rule.beforeHours}
                      onChange={(event) => setNotification(rule.uid, { beforeHours: event.target.value })}
                    />
                    <p id={`${id}-${rule.uid}-hours-hint`} className="hint">
                      {problems.has(`${rule.uid}-hours`)
                        ? t("workflow.beforeHoursInvalid")
                        : t("workflow.beforeHoursHint")}
                    </p>
                  </div>
                )}
                <button
                  type="button"
                  className="danger"
                  onClick={() => set({ notifications: draft.notifications.filter((item) => item.uid !== rule.uid) })}
                >
                  {t("workflow.removeNotification", { number: index + 1 })}
                </button>
              </fieldset>
            ))}
            <button
              type="button"
              className="secondary"
              onClick={() =>
                set({
                  notifications: [
                    ...draft.notifications,
                    {
                      uid: nextUid("notification"),
                      change: "approved",
                      recipients: ["patient"],
                      channels: ["email"],
                      beforeHours: "",
                    },
                  ],
                })
              }
            >
              {t("workflow.addNotification")}
            </button>
          </>
        )}
      </section>
    </>
  );
}

interface CheckboxesProps<T extends string> {
  legend: string;
  idPrefix: string;
  options: readonly T[];
  checked: readonly T[];
  label: (option: T) => string;
  onToggle: (option: T, on: boolean) => void;
}

/** A group of checkboxes under one legend, one per option. */
function Checkboxes<T extends string>({ legend, idPrefix, options, checked, label, onToggle }: CheckboxesProps<T>) {
  return (
    <fieldset>
      <legend>{legend}</legend>
      {options.map((option) => (
        <div className="field checkbox" key={option}>
          <input
            id={`${idPrefix}-${option}`}
            type="checkbox"
            checked={checked.includes(option)}
            onChange={(event) => onToggle(option, event.target.checked)}
          />
          <label htmlFor={`${idPrefix}-${option}`}>{label(option)}</label>
        </div>
      ))}
    </fieldset>
  );
}
