// A domain's request form: its JSON Schema (`form_schema`) as a list of questions an editor can change,
// and back. Only what the editor shows is rewritten; any other keyword (pattern, format, $defs…) is kept.

export type FieldKind = "text" | "number" | "boolean" | "choice" | "other";

export interface FieldDraft {
  /** Stable identity for React while the key is being typed. */
  uid: string;
  key: string;
  title: string;
  description: string;
  kind: FieldKind;
  required: boolean;
  /** A number that must be whole ("integer" in JSON Schema). */
  integer: boolean;
  minLength: number | undefined;
  maxLength: number | undefined;
  options: string[];
  /** The field's other keywords, kept as they were. */
  rest: Record<string, unknown>;
}

export interface FormDraft {
  fields: FieldDraft[];
  /** The schema's other top-level keywords ($schema, additionalProperties…), kept as they were. */
  rest: Record<string, unknown>;
}

const EDITED = ["type", "title", "description", "enum", "minLength", "maxLength"];

let counter = 0;
function uid(): string {
  counter += 1;
  return `field-${counter}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function count(value: unknown): number | undefined {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : undefined;
}

function kindOf(field: Record<string, unknown>): FieldKind {
  if (field.type === "string" && Array.isArray(field.enum)) return "choice";
  if (field.type === "string" && field.enum === undefined) return "text";
  if (field.type === "number" || field.type === "integer") return "number";
  if (field.type === "boolean") return "boolean";
  return "other";
}

export function formOf(schema: Record<string, unknown>): FormDraft {
  const { properties, required, type: _type, ...rest } = schema;
  const needed = new Set(Array.isArray(required) ? required.filter((name) => typeof name === "string") : []);
  const fields = Object.entries(isObject(properties) ? properties : {}).map(([key, value]): FieldDraft => {
    const field = isObject(value) ? value : {};
    const kind = kindOf(field);
    // An unknown kind is kept whole; a known one keeps only what the editor does not show.
    const kept = Object.fromEntries(
      Object.entries(field).filter(([name]) => kind === "other" || !EDITED.includes(name)),
    );
    return {
      uid: uid(),
      key,
      title: typeof field.title === "string" ? field.title : "",
      description: typeof field.description === "string" ? field.description : "",
      kind,
      required: needed.has(key),
      integer: field.type === "integer",
      minLength: count(field.minLength),
      maxLength: count(field.maxLength),
      options: Array.isArray(field.enum) ? field.enum.map(String) : [],
      rest: kept,
    };
  });
  return { fields, rest };
}

function fieldSchema(field: FieldDraft): Record<string, unknown> {
  if (field.kind === "other") return { ...field.rest };
  const schema: Record<string, unknown> = { ...field.rest };
  if (field.title.trim()) schema.title = field.title.trim();
  if (field.description.trim()) schema.description = field.description.trim();
  switch (field.kind) {
    case "text":
      schema.type = "string";
      if (field.minLength !== undefined) schema.minLength = field.minLength;
      if (field.maxLength !== undefined) schema.maxLength = field.maxLength;
      break;
    case "choice":
      schema.type = "string";
      schema.enum = field.options;
      break;
    case "number":
      schema.type = field.integer ? "integer" : "number";
      break;
    case "boolean":
      schema.type = "boolean";
      break;
  }
  return schema;
}

/** The JSON Schema the questions make, in their order. */
export function schemaOf(form: FormDraft): Record<string, unknown> {
  const properties = Object.fromEntries(form.fields.map((field) => [field.key, fieldSchema(field)]));
  const required = form.fields.filter((field) => field.required).map((field) => field.key);
  return { ...form.rest, type: "object", properties, ...(required.length ? { required } : {}) };
}

export function newField(existing: FieldDraft[]): FieldDraft {
  const keys = new Set(existing.map((field) => field.key));
  let number = existing.length + 1;
  while (keys.has(`question_${number}`)) number += 1;
  return {
    uid: uid(),
    key: `question_${number}`,
    title: "",
    description: "",
    kind: "text",
    required: false,
    integer: false,
    minLength: undefined,
    maxLength: undefined,
    options: [],
    rest: {},
  };
}

export function move<T>(items: T[], index: number, by: -1 | 1): T[] {
  const target = index + by;
  if (target < 0 || target >= items.length) return items;
  const moved = [...items];
  [moved[index], moved[target]] = [moved[target] as T, moved[index] as T];
  return moved;
}

export type FieldProblem = "badKey" | "duplicateKey" | "noOptions" | "badLengths";

const KEY = /^[a-z][a-z0-9_]{0,99}$/;

/** What must be fixed in each question before saving, by its uid. */
export function fieldProblems(fields: FieldDraft[]): Map<string, FieldProblem> {
  const problems = new Map<string, FieldProblem>();
  const seen = new Set<string>();
  for (const field of fields) {
    if (!KEY.test(field.key)) problems.set(field.uid, "badKey");
    else if (seen.has(field.key)) problems.set(field.uid, "duplicateKey");
    else if (field.kind === "choice" && field.options.length === 0) problems.set(field.uid, "noOptions");
    else if (
      field.kind === "text" &&
      field.minLength !== undefined &&
      field.maxLength !== undefined &&
      field.minLength > field.maxLength
    )
      problems.set(field.uid, "badLengths");
    seen.add(field.key);
  }
  return problems;
}
