{{/* The chart's name, or nameOverride. */}}
{{- define "pm-mcp.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name: fullnameOverride, or <release>-<chart> (the release alone when it contains the chart's name). */}}
{{- define "pm-mcp.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "pm-mcp.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "pm-mcp.labels" -}}
helm.sh/chart: {{ include "pm-mcp.chart" . }}
{{ include "pm-mcp.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "pm-mcp.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pm-mcp.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The Secret holding DATABASE_URL and PM_MCP_MASTER_KEY. */}}
{{- define "pm-mcp.secretName" -}}
{{- default (include "pm-mcp.fullname" .) .Values.existingSecret }}
{{- end }}

{{/*
The Host names accepted on /mcp: loopback (kubectl port-forward), the Service's in-cluster names,
the ingress hosts, then allowedHosts.
*/}}
{{- define "pm-mcp.allowedHosts" -}}
{{- $svc := include "pm-mcp.fullname" . }}
{{- $hosts := list "localhost" "127.0.0.1" $svc (printf "%s.%s" $svc .Release.Namespace) (printf "%s.%s.svc" $svc .Release.Namespace) (printf "%s.%s.svc.cluster.local" $svc .Release.Namespace) }}
{{- if .Values.ingress.enabled }}
{{- range .Values.ingress.hosts }}
{{- $hosts = append $hosts .host }}
{{- end }}
{{- end }}
{{- range .Values.allowedHosts }}
{{- $hosts = append $hosts . }}
{{- end }}
{{- $hosts | uniq | join "," }}
{{- end }}
