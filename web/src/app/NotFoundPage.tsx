import { useTranslation } from "react-i18next";
import { Link } from "react-router";

import { usePageTitle } from "../shared/usePageTitle";

export function NotFoundPage() {
  const { t } = useTranslation();
  usePageTitle(t("app.notFoundTitle"));
  return (
    <section aria-labelledby="not-found-title">
      <h1 id="not-found-title">{t("app.notFoundTitle")}</h1>
      <p>{t("app.notFoundBody")}</p>
      <Link to="/">{t("app.backHome")}</Link>
    </section>
  );
}
