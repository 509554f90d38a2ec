import { useTranslation } from "react-i18next";
import { Link } from "react-router";

import { en } from "../../i18n/en";
import { Loading } from "../../shared/Loading";
import { usePageTitle } from "../../shared/usePageTitle";
import { useAuth } from "../auth/AuthProvider";

function roleLabel(role: string, t: ReturnType<typeof useTranslation>["t"]): string {
  return Object.hasOwn(en.roles, role) ? t(`roles.${role as keyof typeof en.roles}`) : role;
}

export function HomePage() {
  const { t } = useTranslation();
  const { state, signIn } = useAuth();
  usePageTitle(t("app.home"));

  if (state.status === "loading") return <Loading />;
  if (state.status === "signed-out") {
    return (
      <section aria-labelledby="home-title" className="hero">
        <h1 id="home-title">{t("home.title")}</h1>
        <p>{t("home.intro")}</p>
        {state.expired && <p role="status">{t("auth.sessionExpired")}</p>}
        <button type="button" onClick={() => void signIn("/")}>
          {t("auth.signIn")}
        </button>
      </section>
    );
  }
  const { user } = state;
  return (
    <section aria-labelledby="home-title">
      <h1 id="home-title">{t("home.welcome", { name: user.name })}</h1>
      <div className="card">
        <h2>{t("home.account")}</h2>
        <dl className="details">
          <dt>{t("home.name")}</dt>
          <dd>{user.name}</dd>
          {user.email && (
            <>
              <dt>{t("home.email")}</dt>
              <dd>{user.email}</dd>
            </>
          )}
          <dt>{t("home.roles")}</dt>
          <dd>
            {user.roles.length === 0 ? (
              t("home.noRoles")
            ) : (
              <ul className="inline-list" aria-label={t("home.roles")}>
                {user.roles.map((role) => (
                  <li key={role}>{roleLabel(role, t)}</li>
                ))}
              </ul>
            )}
          </dd>
        </dl>
      </div>
      {user.roles.includes("patient") && (
        <>
          <h2>{t("home.nextStep")}</h2>
          <ul className="inline-list actions">
            <li>
              <Link className="button" to="/professionals">
                {t("app.findProfessional")}
              </Link>
            </li>
            <li>
              <Link className="button secondary" to="/appointments">
                {t("app.myAppointments")}
              </Link>
            </li>
            <li>
              <Link className="button secondary" to="/appointments/new">
                {t("app.requestAppointment")}
              </Link>
            </li>
          </ul>
        </>
      )}
      {user.organisation && (
        <>
          <h2>{t("home.nextStep")}</h2>
          <ul className="inline-list actions">
            <li>
              <Link className="button" to="/inbox">
                {t("app.inbox")}
              </Link>
            </li>
            <li>
              <Link className="button secondary" to="/agenda">
                {t("app.agenda")}
              </Link>
            </li>
          </ul>
        </>
      )}
    </section>
  );
}
