{{/* Tempo's single-binary ("monolithic") mode with local storage: enough for one platform's
agents; point tracing.mode=external at a scalable Tempo for more. */}}
{{- define "agentops.tempoConfig" -}}
stream_over_http_enabled: true
server:
  http_listen_port: 3200
  grpc_listen_port: 9095
  log_level: warn
distributor:
  receivers:
    otlp:
      protocols:
        grpc:
          endpoint: 0.0.0.0:4317
        http:
          endpoint: 0.0.0.0:4318
ingester:
  max_block_duration: 5m
compactor:
  compaction:
    block_retention: {{ .Values.tracing.tempo.retention }}
storage:
  trace:
    backend: local
    wal:
      path: /var/tempo/wal
    local:
      path: /var/tempo/blocks
usage_report:
  reporting_enabled: false
{{- end -}}
