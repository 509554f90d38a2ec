// The domain's own questions, rendered from its JSON Schema (the subset domains use: text, choice,
// yes/no, number, list of text). The service checks the full schema on every request.
import { useTranslation } from "react-i18next";

export type Answers = Record<string, unknown>;

interface FieldSchema {
  type?: string;
  title?: string;
  description?: string;
  enum?: unknown[];
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  items?: { type?: string };
}

interface FormSchema {
  properties?: Record<string, FieldSchema>;
  required?: string[];
}

export type FieldErrors = Record<string, string>;

/** An answer as a control's text: a string or number as it is, anything else (no answer yet) empty. */
function textOf(value: unknown): string {
  return typeof value === "string" || typeof value === "number" ? String(value) : "";
}

const LONG_TEXT = 200; // characters beyond which a text answer gets a text area

function fieldsOf(schema: Record<string, unknown>): [string, FieldSchema, boolean][] {
  const form = schema as FormSchema;
  const required = new Set(form.required ?? []);
  return Object.entries(form.properties ?? {}).map(([name, field]) => [name, field, required.has(name)]);
}

export function hasFields(schema: Record<string, unknown>): boolean {
  return fieldsOf(schema).length > 0;
}

/** Field errors the user can fix before sending: required, length and pattern of text answers. */
export function checkAnswers(
  schema: Record<string, unknown>,
  answers: Answers,
  t: ReturnType<typeof useTranslation>["t"],
): FieldErrors {
  const errors: FieldErrors = {};
  for (const [name, field, required] of fieldsOf(schema)) {
    const value = answers[name];
    if (value === undefined) {
      if (required) errors[name] = t("request.required");
    } else if (typeof value === "string") {
      if (field.minLength !== undefined && value.length < field.minLength)
        errors[name] = t("request.tooShort", { count: field.minLength });
      else if (field.maxLength !== undefined && value.length > field.maxLength)
        errors[name] = t("request.tooLong", { count: field.maxLength });
      else if (field.pattern !== undefined && !new RegExp(field.pattern, "u").test(value))
        errors[name] = t("request.badFormat");
    }
  }
  return errors;
}

interface Props {
  schema: Record<string, unknown>;
  answers: Answers;
  errors: FieldErrors;
  /** The new answers, and the field that changed. */
  onChange: (answers: Answers, field: string) => void;
}

export function CustomFields({ schema, answers, errors, onChange }: Props) {
  const { t } = useTranslation();
  const set = (name: string, value: unknown) => {
    const next = { ...answers };
    // An empty answer is no answer: optional fields are left out rather than sent empty.
    if (value === "" || (Array.isArray(value) && value.length === 0)) delete next[name];
    else next[name] = value;
    onChange(next, name);
  };

  return (
    <>
      {fieldsOf(schema).map(([name, field, required]) => {
        const id = `answer-${name}`;
        const error = errors[name];
        const described = [field.description && `${id}-hint`, error && `${id}-error`].filter(Boolean).join(" ");
        const common = {
          id,
          name,
          "aria-invalid": error ? true : undefined,
          "aria-describedby": described || undefined,
          "aria-required": required || undefined,
        } as const;
        const label = (
          <>
            {field.title ?? name}
            {required && <span className="hint"> ({t("request.requiredMark")})</span>}
          </>
        );
        const notes = (
          <>
            {field.description && (
              <p id={`${id}-hint`} className="hint">
                {field.description}
              </p>
            )}
            {error && (
              <p id={`${id}-error`} className="field-error">
                {error}
              </p>
            )}
          </>
        );

        if (field.type === "boolean") {
          return (
            <div className="field checkbox" key={name}>
              <input
                type="checkbox"
                {...common}
                checked={answers[name] === true}
                onChange={(event) => set(name, event.target.checked ? true : "")}
              />
              <label htmlFor={id}>{label}</label>
              {notes}
            </div>
          );
        }
        let control;
        if (field.type === "string" && field.enum) {
          control = (
            <select {...common} value={textOf(answers[name])} onChange={(event) => set(name, event.target.value)}>
              <option value="">—</option>
              {field.enum.map((option) => (
                <option key={String(option)} value={String(option)}>
                  {String(option)}
                </option>
              ))}
            </select>
          );
        } else if (field.type === "array" && field.items?.type === "string") {
          const lines = Array.isArray(answers[name]) ? (answers[name] as string[]).join("\n") : "";
          control = (
            <>
              <p id={`${id}-lines`} className="hint">
                {t("request.listHint")}
              </p>
              <textarea
                {...common}
                aria-describedby={[`${id}-lines`, described].filter(Boolean).join(" ")}
                rows={3}
                defaultValue={lines}
                onChange={(event) =>
                  set(
                    name,
                    event.target.value
                      .split("\n")
                      .map((line) => line.trim())
                      .filter(Boolean),
                  )
                }
              />
            </>
          );
        } else if (field.type === "integer" || field.type === "number") {
          control = (
            <input
              type="number"
              step={field.type === "integer" ? 1 : "any"}
              {...common}
              value={textOf(answers[name])}
              onChange={(event) => set(name, event.target.value === "" ? "" : Number(event.target.value))}
            />
          );
        } else if (field.type === "string") {
          const long = field.maxLength !== undefined && field.maxLength > LONG_TEXT;
          const value = textOf(answers[name]);
          control = long ? (
            <textarea {...common} rows={3} value={value} onChange={(event) => set(name, event.target.value)} />
          ) : (
            <input type="text" {...common} value={value} onChange={(event) => set(name, event.target.value)} />
          );
        } else {
          return null; // a kind of field this form cannot ask yet; the service names it if it is required
        }
        return (
          <div className="field" key={name}>
            <label htmlFor={id}>{label}</label>
            {control}
            {notes}
          </div>
        );
      })}
    </>
  );
}
