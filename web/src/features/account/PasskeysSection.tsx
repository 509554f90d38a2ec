import { useCallback, useId, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";

import { useApi } from "../../api/client";
import type { Problem } from "../../api/problem";
import { useFormat } from "../../i18n/format";
import { Loading } from "../../shared/Loading";
import { ProblemMessage } from "../../shared/ProblemMessage";
import { asProblem, useRemote } from "../../shared/useRemote";
import { addPasskey, loadPasskeys, removePasskey, renamePasskey, type Passkey } from "./api";
import { passkeysSupported } from "./webauthn";

interface Props {
  create: (options: Record<string, unknown>) => Promise<Record<string, unknown>>;
  /** After a passkey is added or removed (the second factors' summary counts them). */
  onChange: () => void;
}

/** What a browser's refusal means to the person: they cancelled, or the authenticator has this passkey already. */
function refusal(error: unknown, t: (key: "passkeys.cancelled" | "passkeys.known") => string): Problem | null {
  if (error instanceof DOMException && error.name === "NotAllowedError")
    return { type: "about:blank", title: t("passkeys.cancelled"), status: 0 };
  if (error instanceof DOMException && error.name === "InvalidStateError")
    return { type: "about:blank", title: t("passkeys.known"), status: 0 };
  return asProblem(error);
}

export function PasskeysSection({ create, onChange }: Props) {
  const { t } = useTranslation("account");
  const api = useApi();
  const format = useFormat();
  const id = useId();
  const [passkeys, reload, refresh] = useRemote(useCallback(() => loadPasskeys(api), [api]));
  const [name, setName] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | null | undefined>(undefined);
  const [done, setDone] = useState("");
  const [renaming, setRenaming] = useState<string | null>(null);
  const supported = passkeysSupported();

  const act = async (action: () => Promise<unknown>, message: string) => {
    setBusy(true);
    setProblem(undefined);
    setDone("");
    try {
      await action();
      setDone(message);
      refresh();
      onChange();
      return true;
    } catch (error) {
      setProblem(refusal(error, t));
      return false;
    } finally {
      setBusy(false);
    }
  };

  const add = async (event: FormEvent) => {
    event.preventDefault();
    const chosen = name.trim();
    if (await act(() => addPasskey(api, chosen, create), t("passkeys.added", { name: chosen }))) setName("");
  };

  return (
    <section className="card" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{t("passkeys.title")}</h2>
      <p>{t("passkeys.intro")}</p>
      {passkeys.state === "loading" && <Loading />}
      {passkeys.state === "failed" && <ProblemMessage problem={passkeys.problem} onRetry={reload} />}
      {passkeys.state === "ready" && passkeys.data.length === 0 && <p className="empty">{t("passkeys.empty")}</p>}
      {passkeys.state === "ready" && passkeys.data.length > 0 && (
        <ul className="account-list" aria-labelledby={`${id}-title`}>
          {passkeys.data.map((passkey) => (
            <li key={passkey.id} data-testid="passkey">
              {renaming === passkey.id ? (
                <RenameForm
                  passkey={passkey}
                  busy={busy}
                  onCancel={() => setRenaming(null)}
                  onRename={async (newName) => {
                    const renamed = await act(
                      () => renamePasskey(api, passkey.id, newName),
                      t("passkeys.renamed", { name: newName }),
                    );
                    if (renamed) setRenaming(null);
                  }}
                />
              ) : (
                <p>
                  <strong>{passkey.name}</strong>
                </p>
              )}
              <p className="hint">
                {t("passkeys.addedAt", { date: format.dateTime(passkey.created_at) })} ·{" "}
                {passkey.last_used_at
                  ? t("passkeys.lastUsed", { date: format.dateTime(passkey.last_used_at) })
                  : t("passkeys.neverUsed")}
              </p>
              {renaming !== passkey.id && (
                <div className="button-row">
                  <button
                    type="button"
                    className="secondary"
                    disabled={busy}
                    aria-label={t("passkeys.renameNamed", { name: passkey.name })}
                    onClick={() => setRenaming(passkey.id)}
                  >
                    {t("passkeys.rename")}
                  </button>
                  <button
                    type="button"
                    className="danger"
                    disabled={busy}
                    aria-label={t("passkeys.removeNamed", { name: passkey.name })}
                    onClick={() =>
                      void act(() => removePasskey(api, passkey.id), t("passkeys.removed", { name: passkey.name }))
                    }
                  >
                    {t("passkeys.remove")}
                  </button>
                </div>
              )}
            </li>
          ))}
        </ul>
      )}
      {supported ? (
        <form onSubmit={(event) => void add(event)} noValidate>
          <div className="field">
            <label htmlFor={`${id}-name`}>{t("passkeys.name")}</label>
            <input
              id={`${id}-name`}
              type="text"
              maxLength={100}
              aria-describedby={`${id}-name-hint`}
              value={name}
              onChange={(event) => setName(event.target.value)}
            />
            <p id={`${id}-name-hint`} className="hint">
              {t("passkeys.nameHint")}
            </p>
          </div>
          <div className="button-row">
            <button type="submit" className="button" disabled={busy || name.trim() === ""}>
              {t("passkeys.add")}
            </button>
          </div>
        </form>
      ) : (
        <p className="hint">{t("passkeys.unsupported")}</p>
      )}
      {problem !== undefined && <ProblemMessage problem={problem} />}
      <p role="status" className="notice-inline">
        {done}
      </p>
    </section>
  );
}

function RenameForm({
  passkey,
  busy,
  onCancel,
  onRename,
}: {
  passkey: Passkey;
  busy: boolean;
  onCancel: () => void;
  onRename: (name: string) => Promise<void>;
}) {
  const { t } = useTranslation("account");
  const id = useId();
  const [name, setName] = useState(passkey.name);
  return (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        void onRename(name.trim());
      }}
      noValidate
    >
      <div className="field">
        <label htmlFor={`${id}-name`}>{t("passkeys.newName", { name: passkey.name })}</label>
        <input
          id={`${id}-name`}
          type="text"
          maxLength={100}
          value={name}
          onChange={(event) => setName(event.target.value)}
        />
      </div>
      <div className="button-row">
        <button type="submit" className="button" disabled={busy || name.trim() === ""}>
          {t("save")}
        </button>
        <button type="button" className="secondary" onClick={onCancel}>
          {t("data.cancel")}
        </button>
      </div>
    </form>
  );
}
