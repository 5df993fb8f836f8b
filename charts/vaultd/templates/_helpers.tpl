{{/* vim: set filetype=mustache: */}}

{{/* Chart name, overridable. */}}
{{- define "vaultd.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{/*
Full name: the prefix of every resource name. Kept to 40 characters so
"<fullname>-internal" and pod names stay valid DNS labels.
*/}}
{{- define "vaultd.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "vaultd.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels that select the vaultd pods. */}}
{{- define "vaultd.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vaultd.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: server
{{- end -}}

{{/* Common labels. */}}
{{- define "vaultd.labels" -}}
helm.sh/chart: {{ include "vaultd.chart" . }}
{{ include "vaultd.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "vaultd.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "vaultd.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "vaultd.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The headless Service that gives every pod a stable DNS name. */}}
{{- define "vaultd.internalService" -}}
{{- printf "%s-internal" (include "vaultd.fullname" .) -}}
{{- end -}}

{{/* http or https, by server.tls.enabled. */}}
{{- define "vaultd.scheme" -}}
{{- if .Values.server.tls.enabled -}}https{{- else -}}http{{- end -}}
{{- end -}}

{{/* The number of pods: one in dev mode. */}}
{{- define "vaultd.replicas" -}}
{{- if .Values.server.dev.enabled -}}1{{- else -}}{{ .Values.server.ha.replicas }}{{- end -}}
{{- end -}}

{{/* The DNS name of pod number $i: call with (list $ctx $i). */}}
{{- define "vaultd.podHost" -}}
{{- $ctx := index . 0 -}}
{{- $i := index . 1 -}}
{{- printf "%s-%d.%s.%s.svc.%s" (include "vaultd.fullname" $ctx) (int $i) (include "vaultd.internalService" $ctx) $ctx.Release.Namespace $ctx.Values.clusterDomain -}}
{{- end -}}

{{/*
Checks what values.schema.json cannot say clearly, or says again for
`--skip-schema-validation`: every template includes it, so a bad value
fails `helm template` and `helm install` with one clear message.
*/}}
{{- define "vaultd.validate" -}}
{{- $s := .Values.server -}}
{{- if not $s.dev.enabled -}}
{{- $r := int $s.ha.replicas -}}
{{- if or (lt $r 3) (eq (mod $r 2) 0) -}}
{{- fail (printf "server.ha.replicas must be an odd number of at least 3 (3, 5, 7, ...) so raft keeps a majority when a pod is lost; got %v (use server.dev.enabled=true for a single dev pod)" $s.ha.replicas) -}}
{{- end -}}
{{- end -}}
{{- if and $s.tls.enabled (not $s.tls.secretName) -}}
{{- fail "server.tls.secretName is required when server.tls.enabled is true: name a Secret holding tls.crt, tls.key and ca.crt" -}}
{{- end -}}
{{- if and $s.service.active.enabled (not $s.serviceRegistration.enabled) (not $s.dev.enabled) -}}
{{- fail "server.service.active.enabled needs server.serviceRegistration.enabled: the active Service selects the vault-active label that service registration keeps current" -}}
{{- end -}}
{{- with $s.seal.transit -}}
{{- if .enabled -}}
{{- if or (not .address) (not .tokenSecret.name) (not .keyName) (not .mountPath) -}}
{{- fail "server.seal.transit.enabled needs server.seal.transit.address, tokenSecret.name, keyName and mountPath: the token comes from a Secret, never from values" -}}
{{- end -}}
{{- if $s.dev.enabled -}}
{{- fail "server.seal.transit is not supported with server.dev.enabled: the dev server is unsealed by itself and keeps no data" -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and $s.dev.enabled $s.tls.enabled -}}
{{- fail "server.tls.enabled is not supported with server.dev.enabled: the dev server listens on plain HTTP" -}}
{{- end -}}
{{- $m := .Values.metrics -}}
{{- if and $s.dev.enabled $m.unauthenticatedAccess -}}
{{- fail "metrics.unauthenticatedAccess is not supported with server.dev.enabled: the dev listener has no configuration; use metrics.serviceMonitor.bearerTokenSecret" -}}
{{- end -}}
{{- if and $m.scrapeAnnotations (not $m.unauthenticatedAccess) -}}
{{- fail "metrics.scrapeAnnotations needs metrics.unauthenticatedAccess=true: annotation-based scrapes send no token" -}}
{{- end -}}
{{- if and $m.serviceMonitor.enabled (not $m.unauthenticatedAccess) (not $m.serviceMonitor.bearerTokenSecret.name) -}}
{{- fail "metrics.serviceMonitor.enabled needs metrics.unauthenticatedAccess=true or metrics.serviceMonitor.bearerTokenSecret.name (a Secret with a token that can read sys/metrics)" -}}
{{- end -}}
{{- end -}}

{{/*
The vaultd server configuration shared by every pod (vaultd.hcl): the
listener and the cluster-wide settings. Raft storage is per pod
(vaultd.raftConfig), because only the first pod may bootstrap.
*/}}
{{- define "vaultd.config" -}}
{{- $s := .Values.server -}}
# Generated by the vaultd Helm chart, shared by every pod. Each pod adds its
# own raft storage file (raft-<pod>.hcl); api_addr, cluster_addr and node_id
# come from the pod's environment (VAULT_API_ADDR, VAULT_CLUSTER_ADDR,
# VAULT_RAFT_NODE_ID).
disable_mlock = true
cluster_name  = {{ include "vaultd.fullname" . | quote }}

listener "tcp" {
  address         = "[::]:{{ $s.service.port }}"
  cluster_address = "[::]:{{ $s.service.clusterPort }}"
{{- if $s.tls.enabled }}
  tls_cert_file   = "/vault/tls/{{ $s.tls.certKey }}"
  tls_key_file    = "/vault/tls/{{ $s.tls.keyKey }}"
  tls_min_version = {{ $s.tls.minVersion | default "tls12" | quote }}
{{- else }}
  tls_disable     = true
{{- end }}
{{- if .Values.metrics.unauthenticatedAccess }}
  telemetry {
    unauthenticated_metrics_access = true
  }
{{- end }}
}
{{- if $s.serviceRegistration.enabled }}

# Keeps this pod's vault-active, vault-sealed, vault-initialized,
# vault-perf-standby and vault-version labels current (namespace and pod
# name from VAULT_K8S_NAMESPACE and VAULT_K8S_POD_NAME).
service_registration "kubernetes" {}
{{- end }}
{{- with $s.seal.transit }}
{{- if .enabled }}

# Auto-unseal with another vault's transit key. The token comes from the
# environment (VAULT_TRANSIT_SEAL_TOKEN, from the Secret {{ .tokenSecret.name }}).
seal "transit" {
  address         = {{ .address | quote }}
  mount_path      = {{ .mountPath | quote }}
  key_name        = {{ .keyName | quote }}
{{- if .keyIdPrefix }}
  key_id_prefix   = {{ .keyIdPrefix | quote }}
{{- end }}
{{- if .caSecretName }}
  tls_ca_cert     = "/vault/seal-tls/{{ .caKey }}"
{{- end }}
{{- if .tlsServerName }}
  tls_server_name = {{ .tlsServerName | quote }}
{{- end }}
  disable_renewal = {{ .disableRenewal }}
}
{{- end }}
{{- end }}
{{- end -}}

{{/*
The raft storage of pod number $i: call with (list $ctx $i). Pod 0 is the
bootstrap pod: it has no retry_join, because vaultd refuses to initialise a
node configured to join (so two clusters can never form), and `operator
init` runs there. Every other pod has a retry_join block for every other
replica: it joins whichever of them leads once it is unsealed.
*/}}
{{- define "vaultd.raftConfig" -}}
{{- $ctx := index . 0 -}}
{{- $i := int (index . 1) -}}
{{- $s := $ctx.Values.server -}}
{{- $scheme := include "vaultd.scheme" $ctx -}}
# Raft storage of {{ include "vaultd.fullname" $ctx }}-{{ $i }}.
{{- if eq $i 0 }} The bootstrap pod: initialise the cluster here.
{{- else }} It joins the cluster through its retry_join blocks.
{{- end }}
storage "raft" {
  path = "/vault/data"
{{- if $s.ha.raft.performanceMultiplier }}
  performance_multiplier = {{ $s.ha.raft.performanceMultiplier }}
{{- end }}
{{- if gt $i 0 }}
{{- range $j := until (int $s.ha.replicas) }}
{{- if ne $j $i }}

  retry_join {
    leader_api_addr = "{{ $scheme }}://{{ include "vaultd.podHost" (list $ctx $j) }}:{{ $s.service.port }}"
{{- if $s.tls.enabled }}
    leader_ca_cert_file = "/vault/tls/{{ $s.tls.caKey }}"
{{- end }}
  }
{{- end }}
{{- end }}
{{- end }}
}
{{- end -}}
