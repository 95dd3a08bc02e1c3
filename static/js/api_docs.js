// ReDoc for /api/docs. Started here rather than by its <redoc> tag so that its telemetry
// (traces sent to Redocly's servers) is off: a bank's network must see no such calls.
import { init } from "../vendor/redoc/redoc.standalone.js";

const root = document.getElementById("api-reference");
init(root.dataset.specUrl, { disableTelemetry: true }, root);
