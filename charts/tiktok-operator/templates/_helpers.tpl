{{/*
The chart's name, overridable with nameOverride.
*/}}
{{- define "tiktok-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The release's full name: every object's name (or its prefix). Truncated at 63 characters, the DNS label
limit, because some Kubernetes name fields are limited to it.
*/}}
{{- define "tiktok-operator.fullname" -}}
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

{{/*
The selector labels: stable for the release's life (a Deployment's selector is immutable).
*/}}
{{- define "tiktok-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tiktok-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
control-plane: controller-manager
{{- end }}

{{/*
The labels every object carries: the selector labels, Helm's usual ones, and the user's extraLabels.
*/}}
{{- define "tiktok-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "tiktok-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tiktok-operator
{{- with .Values.extraLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
The ServiceAccount the manager runs as.
*/}}
{{- define "tiktok-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tiktok-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The manager's image: repository@digest when image.digest is set (the tag is then ignored: a digest pins
the bytes), else repository:tag, the tag defaulting to the chart's appVersion.
*/}}
{{- define "tiktok-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
The manager's rules: a ClusterRole's, or a Role's in each watched namespace (manager-rbac.yaml). They
must equal config/rbac/role.yaml (generated from the +kubebuilder:rbac markers); test/deploy compares.
*/}}
{{- define "tiktok-operator.managerRules" -}}
- apiGroups:
  - ""
  resources:
  - secrets
  verbs:
  - get
  - list
  - update
  - watch
- apiGroups:
  - ""
  - events.k8s.io
  resources:
  - events
  verbs:
  - create
  - patch
- apiGroups:
  - coordination.k8s.io
  resources:
  - leases
  verbs:
  - create
  - get
  - list
  - update
  - watch
- apiGroups:
  - publish.tiktok-operator.dev
  resources:
  - accountquotas
  verbs:
  - get
  - list
  - watch
- apiGroups:
  - publish.tiktok-operator.dev
  resources:
  - accountquotas/status
  - tiktokposts/status
  verbs:
  - get
  - patch
  - update
- apiGroups:
  - publish.tiktok-operator.dev
  resources:
  - tiktokposts
  verbs:
  - get
  - list
  - patch
  - watch
{{- end }}
