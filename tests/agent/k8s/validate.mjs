// Offline validation of the Kubernetes manifests: every object against the
// Kubernetes API schema (kubernetes-models), then what the README and the
// agent promise about privileges, mounts, probes and the rules volume.
// Usage: node validate.mjs DIR NEEDED_CAPS   (e.g. "NET_ADMIN SYS_ADMIN")
// Prints one PASS:/FAIL: line per check and "N passed, M failed"; exit 1 on
// any failure. With --rules FILE it also writes the ConfigMap's ptrig.conf
// to FILE (for `ptrig-load check`).
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";

const args = process.argv.slice(2);
const rulesOut = args.indexOf("--rules") >= 0 ? args.splice(args.indexOf("--rules"), 2)[1] : null;
const [dir, neededCaps] = args;
let passed = 0;
let failed = 0;
const check = (ok, msg) => {
	if (ok) passed++;
	else failed++;
	console.log(`${ok ? "PASS" : "FAIL"}: ${msg}`);
};
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// ---- schema ------------------------------------------------------------------
const objects = [];
for (const f of readdirSync(dir).filter((f) => f.endsWith(".yaml")).sort()) {
	for (const doc of parseAllDocuments(readFileSync(join(dir, f), "utf8"))) {
		if (doc.errors.length) {
			check(false, `${f}: YAML: ${doc.errors[0].message}`);
			continue;
		}
		const obj = doc.toJS();
		if (!obj) continue;
		const [group, version] = obj.apiVersion.includes("/") ? obj.apiVersion.split("/") : [null, obj.apiVersion];
		const path = `kubernetes-models/${group ? group + "/" : ""}${version}/${obj.kind}`;
		const name = `${f}: ${obj.kind}/${obj.metadata?.name}`;
		try {
			const mod = await import(path);
			new mod[obj.kind](obj).validate();
			check(true, `${name}: valid ${obj.apiVersion} ${obj.kind}`);
		} catch (e) {
			check(false, `${name}: ${e.message}`);
		}
		objects.push(obj);
	}
}

// ---- what the README promises ------------------------------------------------------------
const find = (kind) => objects.filter((o) => o.kind === kind);
const [ds] = find("DaemonSet");
const [cm] = find("ConfigMap");
check(find("DaemonSet").length === 1 && find("ConfigMap").length === 1, "one DaemonSet and one ConfigMap");
if (!ds || !cm) {
	console.log(`${passed} passed, ${failed + 1} failed`);
	process.exit(1);
}
const pod = ds.spec.template.spec;
const agent = pod.containers.find((c) => c.name === "agent");
const init = (pod.initContainers || []).find((c) => c.name === "bpffs");
const vol = (name) => pod.volumes.find((v) => v.name === name);
const mount = (c, name) => (c?.volumeMounts || []).find((m) => m.name === name);

check(pod.hostNetwork === true, "hostNetwork: true (the WAN interface is the node's)");
check(pod.containers.length === 1 && agent, "one container, the agent");
check(pod.automountServiceAccountToken === false, "no service account token (the agent talks to no API)");
const sc = agent.securityContext || {};
check(same(sc.capabilities?.drop, ["ALL"]), "agent: capabilities drop ALL");
check(same([...(sc.capabilities?.add || [])].sort(), neededCaps.split(" ").sort()),
	`agent: capabilities add exactly what ptrig-load run checks for (${neededCaps}); got ${sc.capabilities?.add}`);
check(sc.privileged === false, "agent: not privileged");
check(sc.allowPrivilegeEscalation === false, "agent: allowPrivilegeEscalation false");
check(sc.readOnlyRootFilesystem === true, "agent: read-only root filesystem");
check(sc.seccompProfile?.type === "RuntimeDefault", "agent: RuntimeDefault seccomp profile");

check(vol("bpffs")?.hostPath?.path === "/sys/fs/bpf", "volume bpffs: the host's /sys/fs/bpf");
check(mount(agent, "bpffs")?.mountPath === "/sys/fs/bpf" && mount(agent, "bpffs")?.mountPropagation === "HostToContainer",
	"agent: /sys/fs/bpf with HostToContainer propagation (sees a bpffs the init container mounts)");
check(!!init, "init container bpffs present");
check(mount(init, "bpffs")?.mountPath === "/sys/fs/bpf" && mount(init, "bpffs")?.mountPropagation === "Bidirectional",
	"init: /sys/fs/bpf with Bidirectional propagation (its mount reaches the host)");
check(init?.securityContext?.privileged === true, "init: privileged (Kubernetes allows Bidirectional only there)");
check((init?.command || []).join(" ") ===
	'/bin/sh -c [ "$$(stat -f -c %T /sys/fs/bpf)" = bpf_fs ] || mount -t bpf bpf /sys/fs/bpf',
	"init: mounts bpffs only if /sys/fs/bpf is not one (by file system type)");

const a = agent.args || [];
const conf = a[a.indexOf("-c") + 1];
const rules = mount(agent, "rules");
check(a[0] === "run" && a.indexOf("-c") > 0, "agent runs `ptrig-load run -c FILE ...`");
check(vol("rules")?.configMap?.name === cm.metadata.name, `volume rules: ConfigMap ${cm.metadata.name}`);
check(rules && !rules.subPath && rules.readOnly === true,
	"rules mounted as a read-only directory, no subPath (subPath mounts never see updates)");
check(rules && conf === `${rules.mountPath}/ptrig.conf` && typeof cm.data?.["ptrig.conf"] === "string",
	`-c ${conf} is the ConfigMap's ptrig.conf`);
check(ds.metadata.namespace === cm.metadata.namespace, "DaemonSet and ConfigMap in one namespace");

const metrics = a[a.indexOf("--metrics") + 1] || "";
const port = Number(metrics.split(":").pop());
check(a.indexOf("--metrics") > 0 && port > 0, `--metrics ${metrics}`);
check(metrics.startsWith("$(NODE_IP):") &&
	(agent.env || []).some((e) => e.name === "NODE_IP" && e.valueFrom?.fieldRef?.fieldPath === "status.hostIP"),
	"metrics on the node's address only (status.hostIP), not on the WAN");
const probe = (p, path) => p?.httpGet?.path === path && p?.httpGet?.port === port;
check(probe(agent.livenessProbe, "/healthz"), `liveness probe: GET /healthz on ${port}`);
check(probe(agent.readinessProbe, "/readyz"), `readiness probe: GET /readyz on ${port}`);
check(probe(agent.startupProbe, "/healthz"), `startup probe: GET /healthz on ${port}`);
check((agent.ports || []).some((p) => p.containerPort === port), `containerPort ${port} declared`);

if (rulesOut) writeFileSync(rulesOut, cm.data["ptrig.conf"]);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
