import { fieldProblems, formOf, move, newField, schemaOf } from "./formSchema";

const SCHEMA = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  type: "object",
  additionalProperties: false,
  properties: {
    reason: { type: "string", title: "Reason", minLength: 3, maxLength: 500, pattern: "\\S" },
    first_visit: { type: "boolean", title: "First visit" },
    age: { type: "integer", title: "Age" },
    side: { type: "string", title: "Side", enum: ["left", "right"] },
    symptoms: { type: "array", items: { type: "string" }, title: "Symptoms" },
  },
  required: ["reason", "side"],
};

test("a schema read into questions and written back is the same schema", () => {
  const form = formOf(SCHEMA);
  expect(form.fields.map((field) => [field.key, field.kind, field.required])).toEqual([
    ["reason", "text", true],
    ["first_visit", "boolean", false],
    ["age", "number", false],
    ["side", "choice", true],
    ["symptoms", "other", false],
  ]);
  expect(schemaOf(form)).toEqual(SCHEMA);
});

test("edited questions make the schema: kinds, required, lengths and choices, in their order", () => {
  const form = formOf({ type: "object" });
  const text = { ...newField(form.fields), title: "Why?", required: true, minLength: 2, maxLength: 50 };
  const choice = { ...newField([text]), kind: "choice" as const, title: "Where", options: ["home", "office"] };
  const reordered = move([text, choice], 1, -1);
  expect(schemaOf({ ...form, fields: reordered })).toEqual({
    type: "object",
    properties: {
      question_2: { type: "string", title: "Where", enum: ["home", "office"] },
      question_1: { type: "string", title: "Why?", minLength: 2, maxLength: 50 },
    },
    required: ["question_1"],
  });
  expect(Object.keys(schemaOf({ ...form, fields: reordered }).properties as object)).toEqual([
    "question_2",
    "question_1",
  ]);
});

test("changing a question's kind drops the keywords of the old kind", () => {
  const [reason] = formOf(SCHEMA).fields;
  const number = { ...reason!, kind: "number" as const };
  expect(schemaOf({ fields: [number], rest: {} })).toEqual({
    type: "object",
    properties: { reason: { type: "number", title: "Reason", pattern: "\\S" } },
    required: ["reason"],
  });
});

test("moving past either end changes nothing", () => {
  expect(move(["a", "b"], 0, -1)).toEqual(["a", "b"]);
  expect(move(["a", "b"], 1, 1)).toEqual(["a", "b"]);
});

test("bad keys, repeated keys, choices without options and crossed lengths are named", () => {
  const base = newField([]);
  const fields = [
    { ...base, uid: "a", key: "Reason" },
    { ...base, uid: "b", key: "reason" },
    { ...base, uid: "c", key: "reason" },
    { ...base, uid: "d", key: "where", kind: "choice" as const },
    { ...base, uid: "e", key: "why", minLength: 9, maxLength: 3 },
    { ...base, uid: "f", key: "fine" },
  ];
  expect(Object.fromEntries(fieldProblems(fields))).toEqual({
    a: "badKey",
    c: "duplicateKey",
    d: "noOptions",
    e: "badLengths",
  });
});
