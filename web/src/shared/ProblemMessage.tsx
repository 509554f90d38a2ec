import { useTranslation } from "react-i18next";

import { fieldOf, type Problem } from "../api/problem";

interface Props {
  problem: Problem | null;
  onRetry?: () => void;
}

/** An error from the server (its problem's title and detail) or the network, announced to screen readers. */
export function ProblemMessage({ problem, onRetry }: Props) {
  const { t } = useTranslation();
  const title = problem ? problem.title : t("problem.network");
  const errors = problem?.errors ?? [];
  return (
    <div role="alert" className="problem">
      <p className="problem-title">{title}</p>
      {problem?.detail && <p>{problem.detail}</p>}
      {errors.length > 0 && (
        <ul>
          {errors.map((error, index) => {
            const field = fieldOf(error);
            return <li key={index}>{field ? `${field}: ${error.message}` : error.message}</li>;
          })}
        </ul>
      )}
      {onRetry && (
        <button type="button" className="secondary" onClick={onRetry}>
          {t("problem.retry")}
        </button>
      )}
    </div>
  );
}
