{{/* Names, labels and small shared pieces. */}}

{{- define "agentops.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's name prefix: the release name alone when it already says agentops. */}}
{{- define "agentops.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "agentops.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "agentops.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "agentops.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "agentops.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: agentops
{{- end -}}

{{/* Selector labels: never change them between chart versions (Deployment selectors are
immutable, an upgrade would fail). Call with (dict "root" $ "component" "operator"). */}}
{{- define "agentops.selector" -}}
app.kubernetes.io/name: {{ include "agentops.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "agentops.componentLabels" -}}
{{ include "agentops.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "agentops.image" -}}
{{- printf "%s:%s" .image.repository (default .root.Chart.AppVersion .image.tag) -}}
{{- end -}}

{{- define "agentops.operatorName" -}}
{{- printf "%s-operator" (include "agentops.fullname" .) -}}
{{- end -}}

{{/* The namespace of the memory service: memory.namespace or the first agent namespace. */}}
{{- define "agentops.memoryNamespace" -}}
{{- default (first .Values.agentNamespaces) .Values.memory.namespace -}}
{{- end -}}

{{/* Pod and container security contexts that pass PodSecurity "restricted". */}}
{{- define "agentops.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .uid }}
runAsGroup: {{ .uid }}
fsGroup: {{ .uid }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "agentops.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}

{{/* The operator's rules on the resources of the namespaces it serves (ClusterRole or Roles).
It holds every verb it grants to the agents' and channels' Roles (RBAC refuses to let anyone
grant what they do not have). Secrets: read only, to check Provider keys and resolve refs. */}}
{{- define "agentops.operatorRules" -}}
- apiGroups: [agents.agentops.io]
  resources: [agents, agenttools, agentresources, channels, providers]
  verbs: [get, list, watch, update, patch]
- apiGroups: [agents.agentops.io]
  resources: [agentruns]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [agents.agentops.io]
  resources: [agents/status, agentruns/status, agenttools/status, agentresources/status, channels/status, providers/status]
  verbs: [get, update, patch]
- apiGroups: [""]
  resources: [configmaps, services, serviceaccounts, persistentvolumeclaims]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch]
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [batch]
  resources: [jobs]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies, ingresses]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [rbac.authorization.k8s.io]
  resources: [roles, rolebindings]
  verbs: [get, list, watch, create, update, patch, delete]
{{- end -}}

{{- define "agentops.tempoName" -}}
{{- printf "%s-tempo" (include "agentops.fullname" .) -}}
{{- end -}}

{{/* The OTLP/HTTP endpoint the services and agents export to ("" when tracing is off). */}}
{{- define "agentops.otlpEndpoint" -}}
{{- if eq .Values.tracing.mode "tempo" -}}
{{- printf "http://%s.%s.svc:4318" (include "agentops.tempoName" .) .Release.Namespace -}}
{{- else if eq .Values.tracing.mode "external" -}}
{{- .Values.tracing.external.otlpEndpoint -}}
{{- end -}}
{{- end -}}

{{/* Environment of a service that exports its own spans. */}}
{{- define "agentops.tracingEnv" -}}
{{- with include "agentops.otlpEndpoint" . }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- end -}}

{{/* A namespaceSelector matching each of the agent namespaces. */}}
{{- define "agentops.agentNamespacesPeer" -}}
- namespaceSelector:
    matchExpressions:
      - key: kubernetes.io/metadata.name
        operator: In
        values:
          {{- toYaml .Values.agentNamespaces | nindent 10 }}
{{- end -}}

{{/* Egress to cluster DNS, which every pod that resolves a Service name needs. */}}
{{- define "agentops.dnsEgress" -}}
- ports:
    - {protocol: UDP, port: 53}
    - {protocol: TCP, port: 53}
{{- end -}}

{{/* Egress to the trace receiver: the chart's Tempo, or any address for an external one. */}}
{{- define "agentops.traceEgress" -}}
{{- if eq .Values.tracing.mode "tempo" }}
- to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: {{ .Release.Namespace }}
      podSelector:
        matchLabels:
          {{- include "agentops.selector" (dict "root" . "component" "tempo") | nindent 10 }}
  ports:
    - {protocol: TCP, port: 4318}
{{- else if eq .Values.tracing.mode "external" }}
{{- $endpoint := .Values.tracing.external.otlpEndpoint }}
{{- $port := regexFind ":[0-9]+" (trimPrefix "http://" (trimPrefix "https://" $endpoint)) | trimPrefix ":" }}
- ports:
    - {protocol: TCP, port: {{ $port | default (ternary "443" "80" (hasPrefix "https://" $endpoint)) }}}
{{- end }}
{{- end -}}
