// RFC 9457 problem details, as every Kairos service answers an error.
import type { AppointmentsSchemas } from "./client";

export type Problem = AppointmentsSchemas["Problem"] & {
  /** Field errors: request validation ({location, message}) or a domain form's answers ({field, message}). */
  errors?: { location?: (string | number)[]; field?: string; message: string }[];
};

export class ProblemError extends Error {
  readonly problem: Problem;

  constructor(problem: Problem) {
    super(problem.detail ?? problem.title);
    this.problem = problem;
  }
}

function isProblem(body: unknown): body is Problem {
  return typeof body === "object" && body !== null && typeof (body as { title?: unknown }).title === "string";
}

/** The problem in an error response, or one made from its status when the body is not one. */
export function problemOf(body: unknown, response: Response): Problem {
  if (isProblem(body)) return { ...body, status: body.status ?? response.status };
  return { type: "about:blank", title: response.statusText || `HTTP ${response.status}`, status: response.status };
}

export interface Outcome<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The data of an openapi-fetch call, or a thrown ProblemError. */
export async function unwrap<T>(call: Promise<Outcome<T>>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok || data === undefined) throw new ProblemError(problemOf(error, response));
  return data;
}

/** The field a problem's error is about (``answers.reason`` → ``reason``, ``body.starts_at`` → ``starts_at``). */
export function fieldOf(error: NonNullable<Problem["errors"]>[number]): string | undefined {
  if (error.field) return error.field;
  const location = (error.location ?? []).filter((part) => part !== "body" && part !== "answers");
  return location.length ? String(location[location.length - 1]) : undefined;
}
