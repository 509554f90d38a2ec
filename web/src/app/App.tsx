import { Route, Routes } from "react-router";

import { AppointmentPage } from "../features/appointments/AppointmentPage";
import { RequestAppointmentPage } from "../features/appointments/RequestAppointmentPage";
import { CallbackPage } from "../features/auth/CallbackPage";
import { AvailabilityPage } from "../features/availability/AvailabilityPage";
import { RequireSignIn } from "../features/auth/RequireSignIn";
import { FindProfessionalPage } from "../features/booking/FindProfessionalPage";
import { HomePage } from "../features/home/HomePage";
import { Layout } from "./Layout";
import { NotFoundPage } from "./NotFoundPage";

export function App() {
  return (
    <Routes>
      <Route element={<Layout />}>
        <Route index element={<HomePage />} />
        <Route path="auth/callback" element={<CallbackPage />} />
        <Route path="professionals" element={<FindProfessionalPage />} />
        <Route
          path="availability"
          element={<RequireSignIn>{(user) => <AvailabilityPage user={user} />}</RequireSignIn>}
        />
        <Route path="appointments/new" element={<RequireSignIn>{() => <RequestAppointmentPage />}</RequireSignIn>} />
        <Route
          path="appointments/:appointmentId"
          element={<RequireSignIn>{(user) => <AppointmentPage user={user} />}</RequireSignIn>}
        />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
