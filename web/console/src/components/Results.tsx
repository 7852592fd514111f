import { Button, Result } from "antd";
import { useNavigate } from "react-router";
import { useI18n } from "../i18n";

function BackHome() {
  const { t } = useI18n();
  const navigate = useNavigate();
  return (
    <Button type="primary" onClick={() => navigate("/dashboard")} data-testid="back-home">
      {t("error.backHome")}
    </Button>
  );
}

export function NotFoundResult() {
  const { t } = useI18n();
  return (
    <div data-testid="not-found-page">
      <Result status="404" title="404" subTitle={t("error.notFoundPage")} extra={<BackHome />} />
    </div>
  );
}

export function ForbiddenResult() {
  const { t } = useI18n();
  return (
    <div data-testid="forbidden-page">
      <Result status="403" title="403" subTitle={t("error.forbiddenPage")} extra={<BackHome />} />
    </div>
  );
}
