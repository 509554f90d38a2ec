import { useCallback, useEffect, useState } from "react";

import { ProblemError, type Problem } from "../api/problem";

export type Remote<T> =
  | { state: "loading" }
  | { state: "failed"; problem: Problem | null } // null: the server could not be reached
  | { state: "ready"; data: T };

/** Whatever `load` fetches, as loading / failed / ready; `reload` fetches it again. */
export function useRemote<T>(load: () => Promise<T>, deps: readonly unknown[]): [Remote<T>, () => void] {
  const [remote, setRemote] = useState<Remote<T>>({ state: "loading" });
  const [round, setRound] = useState(0);
  // The caller names what `load` depends on, as with useCallback.
  const stableLoad = useCallback(load, deps);
  useEffect(() => {
    let current = true;
    setRemote({ state: "loading" });
    stableLoad().then(
      (data) => current && setRemote({ state: "ready", data }),
      (error: unknown) => current && setRemote({ state: "failed", problem: asProblem(error) }),
    );
    return () => {
      current = false;
    };
  }, [stableLoad, round]);
  return [remote, useCallback(() => setRound((value) => value + 1), [])];
}

/** A ProblemError's problem; null when fetch itself failed (offline, server down). */
export function asProblem(error: unknown): Problem | null {
  if (error instanceof ProblemError) return error.problem;
  if (error instanceof TypeError) return null;
  return { type: "about:blank", title: error instanceof Error ? error.message : String(error), status: 0 };
}
