import { useCallback, useId, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { useSearchParams } from "react-router";

import { useApi } from "../../api/client";
import type { Problem } from "../../api/problem";
import { Loading } from "../../shared/Loading";
import { ProblemMessage } from "../../shared/ProblemMessage";
import { asProblem, useRemote } from "../../shared/useRemote";
import { enrolmentPath, loadSecondFactors, regenerateRecoveryCodes, type SecondFactors } from "./api";
import { PasskeysSection } from "./PasskeysSection";
import { createPasskey } from "./webauthn";

/** Where identity's enrolment page sends the person back to: this page, saying it is done. */
export const AFTER_ENROLMENT = "/account?mfa=enrolled";

interface Props {
  /** How a passkey is made (the browser's authenticator); a test gives its own. */
  create?: (options: Record<string, unknown>) => Promise<Record<string, unknown>>;
}

/** Second factors: the authenticator app (set up on identity's own page), recovery codes, passkeys. */
export function SecuritySection({ create = createPasskey }: Props) {
  const { t } = useTranslation("account");
  const api = useApi();
  const [status, reload, refresh] = useRemote(useCallback(() => loadSecondFactors(api), [api]));
  const [search] = useSearchParams();
  const justEnrolled = search.get("mfa") === "enrolled";
  return (
    <>
      <section className="card" aria-labelledby="security-title">
        <h2 id="security-title">{t("security.title")}</h2>
        <p>{t("security.intro")}</p>
        {status.state === "loading" && <Loading />}
        {status.state === "failed" && <ProblemMessage problem={status.problem} onRetry={reload} />}
        {status.state === "ready" && <SecondFactorsView factors={status.data} onChange={refresh} />}
        {justEnrolled && status.state === "ready" && status.data.totp_enrolled && (
          <p role="status" className="notice-inline">
            {t("security.enrolled")}
          </p>
        )}
      </section>
      <PasskeysSection create={create} onChange={refresh} />
    </>
  );
}

function SecondFactorsView({ factors, onChange }: { factors: SecondFactors; onChange: () => void }) {
  const { t } = useTranslation("account");
  return (
    <>
      <dl className="details" data-testid="second-factors">
        <dt>{t("security.app")}</dt>
        <dd>{factors.totp_enrolled ? t("security.appSetUp") : t("security.appNotSetUp")}</dd>
        <dt>{t("security.codesLeft")}</dt>
        <dd>{factors.totp_enrolled ? factors.recovery_codes_left : "—"}</dd>
        <dt>{t("security.passkeys")}</dt>
        <dd>{factors.passkeys}</dd>
      </dl>
      {factors.required && !factors.totp_enrolled && factors.passkeys === 0 && (
        <p className="hint">{t("security.required")}</p>
      )}
      {factors.totp_enrolled && factors.recovery_codes_left <= 3 && (
        <p className="hint">{t("security.fewCodes", { count: factors.recovery_codes_left })}</p>
      )}
      {!factors.totp_enrolled && (
        <>
          <p>
            <a href={enrolmentPath(AFTER_ENROLMENT)} aria-describedby="security-opens">
              {t("security.setUp")}
            </a>
          </p>
          <p id="security-opens" className="hint">
            {t("security.opensIdentity")}
          </p>
        </>
      )}
      {factors.totp_enrolled && <RecoveryCodesForm onChange={onChange} />}
    </>
  );
}

function RecoveryCodesForm({ onChange }: { onChange: () => void }) {
  const { t } = useTranslation("account");
  const api = useApi();
  const id = useId();
  const [code, setCode] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | null | undefined>(undefined);
  const [codes, setCodes] = useState<string[] | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setProblem(undefined);
    setCodes(null);
    try {
      setCodes(await regenerateRecoveryCodes(api, code.trim()));
      setCode("");
      onChange();
    } catch (error) {
      setProblem(asProblem(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={(event) => void submit(event)} aria-labelledby={`${id}-title`} noValidate>
      <h3 id={`${id}-title`}>{t("security.newCodes")}</h3>
      <p className="hint">{t("security.newCodesIntro")}</p>
      <div className="field">
        <label htmlFor={`${id}-code`}>{t("security.proof")}</label>
        <input
          id={`${id}-code`}
          type="text"
          inputMode="text"
          autoComplete="one-time-code"
          spellCheck={false}
          required
          value={code}
          onChange={(event) => setCode(event.target.value)}
        />
      </div>
      {problem !== undefined && <ProblemMessage problem={problem} />}
      <div className="button-row">
        <button type="submit" className="button" disabled={busy || code.trim() === ""}>
          {t("security.makeCodes")}
        </button>
      </div>
      {codes !== null && (
        <div className="confirm" role="status" aria-labelledby={`${id}-codes`}>
          <p id={`${id}-codes`}>
            <strong>{t("security.codesOnce")}</strong>
          </p>
          <ul className="recovery-codes" aria-label={t("security.codesList")}>
            {codes.map((recovery) => (
              <li key={recovery}>
                <code>{recovery}</code>
              </li>
            ))}
          </ul>
        </div>
      )}
    </form>
  );
}
