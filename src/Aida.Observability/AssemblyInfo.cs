// Aida.Observability: derived metrics, anomaly detection, correlation, root cause and incidents.
// It reads telemetry only (through Aida.Telemetry's query interface) and the facility model; never the twin.
