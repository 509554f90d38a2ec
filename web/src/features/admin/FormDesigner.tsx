// The custom-field editor: the domain's questions, each with its kind and rules, and beside them the form
// as clients will see it — the very component the request page uses, fed the schema being edited.
import { useId, useState } from "react";
import { useTranslation } from "react-i18next";

import { CustomFields, type Answers } from "../appointments/CustomFields";
import {
  move,
  newField,
  schemaOf,
  type FieldDraft,
  type FieldKind,
  type FieldProblem,
  type FormDraft,
} from "./formSchema";

const KINDS: FieldKind[] = ["text", "number", "boolean", "choice"];

interface Props {
  form: FormDraft;
  problems: Map<string, FieldProblem>;
  onChange: (form: FormDraft) => void;
}

function count(value: string): number | undefined {
  const number = Number(value);
  return value.trim() === "" || !Number.isInteger(number) || number < 0 ? undefined : number;
}

export function FormDesigner({ form, problems, onChange }: Props) {
  const { t } = useTranslation("admin");
  const [answers, setAnswers] = useState<Answers>({});
  const setFields = (fields: FieldDraft[]) => onChange({ ...form, fields });
  const update = (uid: string, changes: Partial<FieldDraft>) =>
    setFields(form.fields.map((field) => (field.uid === uid ? { ...field, ...changes } : field)));

  return (
    <section className="card" aria-labelledby="form-designer-title">
      <h2 id="form-designer-title">{t("fields.title")}</h2>
      <p>{t("fields.intro")}</p>
      <div className="form-designer">
        <div>
          {form.fields.length === 0 && <p className="empty">{t("fields.empty")}</p>}
          {form.fields.map((field, index) => (
            <FieldEditor
              key={field.uid}
              field={field}
              number={index + 1}
              first={index === 0}
              last={index === form.fields.length - 1}
              problem={problems.get(field.uid)}
              onChange={(changes) => update(field.uid, changes)}
              onMove={(by) => setFields(move(form.fields, index, by))}
              onRemove={() => setFields(form.fields.filter((item) => item.uid !== field.uid))}
            />
          ))}
          <button
            type="button"
            className="secondary"
            onClick={() => setFields([...form.fields, newField(form.fields)])}
          >
            {t("fields.add")}
          </button>
        </div>
        <section className="form-preview card" aria-labelledby="form-preview-title" data-testid="form-preview">
          <h3 id="form-preview-title">{t("fields.preview")}</h3>
          <p className="hint">{t("fields.previewIntro")}</p>
          <CustomFields schema={schemaOf(form)} answers={answers} errors={{}} onChange={setAnswers} />
        </section>
      </div>
    </section>
  );
}

interface FieldEditorProps {
  field: FieldDraft;
  number: number;
  first: boolean;
  last: boolean;
  problem: FieldProblem | undefined;
  onChange: (changes: Partial<FieldDraft>) => void;
  onMove: (by: -1 | 1) => void;
  onRemove: () => void;
}

function FieldEditor({ field, number, first, last, problem, onChange, onMove, onRemove }: FieldEditorProps) {
  const { t } = useTranslation("admin");
  const id = useId();
  const name = field.title || field.key;
  const error = problem && (
    <p id={`${id}-error`} className="field-error">
      {t(`fields.${problem}`)}
    </p>
  );
  const keyProblem = problem === "badKey" || problem === "duplicateKey";
  return (
    <fieldset className="field-editor">
      <legend>{t("fields.legend", { number, title: name })}</legend>
      <div className="admin-grid">
        <div className="field">
          <label htmlFor={`${id}-title`}>{t("fields.titleLabel")}</label>
          <input
            id={`${id}-title`}
            type="text"
            value={field.title}
            onChange={(event) => onChange({ title: event.target.value })}
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-key`}>{t("fields.key")}</label>
          <input
            id={`${id}-key`}
            type="text"
            spellCheck={false}
            value={field.key}
            aria-invalid={keyProblem || undefined}
            aria-describedby={`${id}-key-hint${keyProblem ? ` ${id}-error` : ""}`}
            onChange={(event) => onChange({ key: event.target.value })}
          />
          <p id={`${id}-key-hint`} className="hint">
            {t("fields.keyHint")}
          </p>
        </div>
        <div className="field">
          <label htmlFor={`${id}-kind`}>{t("fields.kind")}</label>
          <select
            id={`${id}-kind`}
            value={field.kind}
            disabled={field.kind === "other"}
            onChange={(event) => onChange({ kind: event.target.value as FieldKind })}
          >
            {(field.kind === "other" ? [...KINDS, "other" as const] : KINDS).map((kind) => (
              <option key={kind} value={kind}>
                {t(`fields.kinds.${kind}`)}
              </option>
            ))}
          </select>
        </div>
      </div>
      <div className="field">
        <label htmlFor={`${id}-description`}>{t("fields.description")}</label>
        <input
          id={`${id}-description`}
          type="text"
          value={field.description}
          onChange={(event) => onChange({ description: event.target.value })}
        />
      </div>
      <div className="field checkbox">
        <input
          id={`${id}-required`}
          type="checkbox"
          checked={field.required}
          onChange={(event) => onChange({ required: event.target.checked })}
        />
        <label htmlFor={`${id}-required`}>{t("fields.required")}</label>
      </div>
      {field.kind === "text" && (
        <div className="admin-grid">
          {(["minLength", "maxLength"] as const).map((bound) => (
            <div className="field" key={bound}>
              <label htmlFor={`${id}-${bound}`}>{t(`fields.${bound}`)}</label>
              <input
                id={`${id}-${bound}`}
                type="number"
                min={0}
                step={1}
                value={field[bound] ?? ""}
                aria-invalid={problem === "badLengths" || undefined}
                aria-describedby={problem === "badLengths" ? `${id}-error` : undefined}
                onChange={(event) => onChange({ [bound]: count(event.target.value) })}
              />
            </div>
          ))}
        </div>
      )}
      {field.kind === "choice" && (
        <div className="field">
          <label htmlFor={`${id}-options`}>{t("fields.options")}</label>
          <textarea
            id={`${id}-options`}
            rows={3}
            defaultValue={field.options.join("\n")}
            aria-invalid={problem === "noOptions" || undefined}
            aria-describedby={`${id}-options-hint${problem === "noOptions" ? ` ${id}-error` : ""}`}
            onChange={(event) =>
              onChange({
                options: event.target.value
                  .split("\n")
                  .map((line) => line.trim())
                  .filter(Boolean),
              })
            }
          />
          <p id={`${id}-options-hint`} className="hint">
            {t("fields.optionsHint")}
          </p>
        </div>
      )}
      {error}
      <div className="button-row">
        <button type="button" className="secondary" disabled={first} onClick={() => onMove(-1)}>
          <span aria-hidden="true">↑ </span>
          <span className="visually-hidden">{t("fields.moveUp", { title: name })}</span>
        </button>
        <button type="button" className="secondary" disabled={last} onClick={() => onMove(1)}>
          <span aria-hidden="true">↓ </span>
          <span className="visually-hidden">{t("fields.moveDown", { title: name })}</span>
        </button>
        <button type="button" className="danger" onClick={onRemove}>
          {t("fields.remove", { title: name })}
        </button>
      </div>
    </fieldset>
  );
}
