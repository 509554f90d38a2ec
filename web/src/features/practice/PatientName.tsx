// Who the patient is, as identity last named them to the appointments service; a short reference when the
// service knows no name (an account older than names in identity's events).
import { useTranslation } from "react-i18next";

import type { AppointmentSummary } from "../appointments/api";

export function PatientName({ appointment }: { appointment: Pick<AppointmentSummary, "patient" | "patient_name"> }) {
  const { t } = useTranslation("practice");
  return (
    <>
      {appointment.patient_name
        ? t("patientName", { name: appointment.patient_name })
        : t("unnamedPatient", { ref: appointment.patient.slice(0, 8) })}
    </>
  );
}
