import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate } from "react-router";

import { useAuth } from "./AuthProvider";

/** Where identity sends the browser back with an authorization code (the client's redirect URI). */
export function CallbackPage() {
  const { t } = useTranslation();
  const { completeSignIn } = useAuth();
  const navigate = useNavigate();
  const [failure, setFailure] = useState<string | null>(null);

  useEffect(() => {
    completeSignIn().then(
      (returnTo) => navigate(returnTo, { replace: true }),
      (error: unknown) => setFailure(error instanceof Error ? error.message : String(error)),
    );
  }, [completeSignIn, navigate]);

  if (failure !== null) {
    return (
      <section aria-labelledby="callback-title">
        <h1 id="callback-title">{t("auth.signInFailed")}</h1>
        <div role="alert" className="problem">
          <p>{failure}</p>
        </div>
        <Link to="/">{t("app.backHome")}</Link>
      </section>
    );
  }
  return (
    <p role="status" className="loading">
      {t("auth.signingIn")}
    </p>
  );
}
