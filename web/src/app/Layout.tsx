import { useEffect, useRef } from "react";
import { useTranslation } from "react-i18next";
import { Link, NavLink, Outlet, useLocation } from "react-router";

import { useAuth } from "../features/auth/AuthProvider";
import { verifiesProfessionals } from "../features/verification/api";
import { LANGUAGES } from "../i18n";

export function Layout() {
  const { t, i18n } = useTranslation();
  const { state, signIn, signOut } = useAuth();
  const location = useLocation();
  const main = useRef<HTMLElement>(null);
  const firstRender = useRef(true);

  // After an in-app navigation, focus moves to the new page, as it would after a full page load.
  useEffect(() => {
    if (firstRender.current) {
      firstRender.current = false;
      return;
    }
    main.current?.focus();
  }, [location.pathname]);

  return (
    <>
      <a className="skip-link" href="#main">
        {t("app.skipToContent")}
      </a>
      <header className="site-header">
        <Link to="/" className="brand">
          {t("app.name")}
        </Link>
        <nav aria-label={t("app.mainNavigation")}>
          <ul>
            <li>
              <NavLink to="/" end>
                {t("app.home")}
              </NavLink>
            </li>
            <li>
              <NavLink to="/professionals">{t("app.findProfessional")}</NavLink>
            </li>
            {state.status === "signed-in" && state.user.roles.includes("patient") && (
              <>
                <li>
                  <NavLink to="/appointments" end>
                    {t("app.myAppointments")}
                  </NavLink>
                </li>
                <li>
                  <NavLink to="/appointments/new">{t("app.requestAppointment")}</NavLink>
                </li>
              </>
            )}
            {state.status === "signed-in" && state.user.organisation && (
              <>
                <li>
                  <NavLink to="/inbox">{t("app.inbox")}</NavLink>
                </li>
                <li>
                  <NavLink to="/agenda">{t("app.agenda")}</NavLink>
                </li>
                <li>
                  <NavLink to="/availability">{t("app.availability")}</NavLink>
                </li>
              </>
            )}
            {state.status === "signed-in" &&
              (state.user.roles.includes("domain_admin") || state.user.roles.includes("operator")) && (
                <li>
                  <NavLink to="/admin/domains">{t("nav", { ns: "admin" })}</NavLink>
                </li>
              )}
            {state.status === "signed-in" && state.user.organisation && verifiesProfessionals(state.user) && (
              <li>
                <NavLink to="/verification">{t("verification.nav", { ns: "admin" })}</NavLink>
              </li>
            )}
            {state.status === "signed-in" && (
              <li>
                <NavLink to="/account">{t("nav", { ns: "account" })}</NavLink>
              </li>
            )}
          </ul>
        </nav>
        <div className="header-tools">
          <label className="language">
            <span>{t("app.language")}</span>
            <select value={i18n.language} onChange={(event) => void i18n.changeLanguage(event.target.value)}>
              {Object.entries(LANGUAGES).map(([code, name]) => (
                <option key={code} value={code} lang={code}>
                  {name}
                </option>
              ))}
            </select>
          </label>
          {state.status === "signed-in" && (
            <>
              <span className="who">{t("auth.signedInAs", { name: state.user.name })}</span>
              <button type="button" className="secondary" onClick={() => void signOut()}>
                {t("auth.signOut")}
              </button>
            </>
          )}
          {state.status === "signed-out" && location.pathname !== "/" && (
            <button type="button" className="secondary" onClick={() => void signIn(location.pathname)}>
              {t("auth.signIn")}
            </button>
          )}
        </div>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        <Outlet />
      </main>
    </>
  );
}
