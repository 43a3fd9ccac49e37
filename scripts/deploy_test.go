package scripts_test

import (
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// install is a deploy.sh target laid out in a temporary directory, run as the current user.
type install struct {
	dir, src, bin, etc, units string
	env                       []string
}

func newInstall(tb testing.TB) *install {
	tb.Helper()
	dir := tb.TempDir()
	in := &install{
		dir:   dir,
		src:   filepath.Join(dir, "src"),
		bin:   filepath.Join(dir, "usr", "bin"),
		etc:   filepath.Join(dir, "etc", "canistry"),
		units: filepath.Join(dir, "systemd"),
	}
	in.env = []string{
		"PREFIX=" + filepath.Join(dir, "usr"), "ETC_DIR=" + in.etc,
		"ENV_FILE=" + filepath.Join(in.etc, "canistry.env"), "SYSTEMD_DIR=" + in.units,
		"SRC_BIN_DIR=" + in.src, "SERVICE_USER=" + currentUser(tb), "SERVICE_GROUP=" + currentGroup(tb),
		"NO_ROOT_CHECK=1",
	}
	if err := os.MkdirAll(in.src, 0o755); err != nil {
		tb.Fatal(err)
	}
	for _, b := range []string{"api", "poller", "notifier"} {
		in.writeBinary(tb, b, "1")
	}
	return in
}

// writeBinary puts a stand-in for bin/name, different for each version.
func (in *install) writeBinary(tb testing.TB, name, version string) {
	tb.Helper()
	script := "#!/bin/sh\necho " + name + " " + version + "\n"
	if err := os.WriteFile(filepath.Join(in.src, name), []byte(script), 0o755); err != nil {
		tb.Fatal(err)
	}
}

func (in *install) deploy(tb testing.TB, args ...string) result {
	tb.Helper()
	r := runScript(tb, in.dir, in.env, "deploy.sh", append([]string{"--no-build", "--no-start", "--no-firewall"}, args...)...)
	if r.code != 0 {
		tb.Fatalf("deploy.sh %v: exit %d\n%s", args, r.code, r.out)
	}
	return r
}

func (in *install) read(tb testing.TB, path string) string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func TestDeploy_InstallsIntoPrefix(t *testing.T) {
	in := newInstall(t)
	in.deploy(t)

	for _, b := range []string{"api", "poller", "notifier"} {
		p := filepath.Join(in.bin, "canistry-"+b)
		if got, want := in.read(t, p), in.read(t, filepath.Join(in.src, b)); got != want {
			t.Errorf("%s differs from bin/%s", p, b)
		}
		unit := in.read(t, filepath.Join(in.units, "canistry-"+b+".service"))
		for _, want := range []string{"ExecStart=" + p + "\n", "EnvironmentFile=" + in.etc + "/canistry.env\n",
			"User=" + currentUser(t) + "\n"} {
			if !strings.Contains(unit, want) {
				t.Errorf("installed canistry-%s.service lacks %q", b, want)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(in.units, "canistry.target")); err != nil {
		t.Error(err)
	}

	envFile := filepath.Join(in.etc, "canistry.env")
	env := in.read(t, envFile)
	if !strings.Contains(env, "\nDATA_DIR=/var/lib/canistry\n") {
		t.Error("canistry.env does not set DATA_DIR=/var/lib/canistry")
	}
	for _, key := range []string{"NATS_TOKEN", "ADMIN_API_KEY"} {
		if !regexp.MustCompile(`\n` + key + `=[0-9a-f]{48}\n`).MatchString(env) {
			t.Errorf("canistry.env has no random %s", key)
		}
	}
	if !strings.Contains(env, "\nREFRESH_SCHEDULE=\"@every 1m\"\n") {
		t.Error("canistry.env lost the example's other values")
	}
	if fi, err := os.Stat(envFile); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("canistry.env mode = %v, want 0640", fi.Mode().Perm())
	}

	t.Run("SecondRunChangesNothing", func(t *testing.T) {
		r := in.deploy(t)
		if strings.Contains(r.out, "installing") || strings.Contains(r.out, "creating") {
			t.Errorf("second run installed again:\n%s", r.out)
		}
		if got := in.read(t, envFile); got != env {
			t.Error("second run changed canistry.env")
		}
	})

	t.Run("NewBinaryReplacesOnlyIt", func(t *testing.T) {
		in.writeBinary(t, "poller", "2")
		r := in.deploy(t)
		if !strings.Contains(r.out, "installing "+filepath.Join(in.bin, "canistry-poller")) ||
			strings.Contains(r.out, "canistry-api") {
			t.Errorf("want only the poller installed:\n%s", r.out)
		}
	})

	t.Run("LowPortDropIn", func(t *testing.T) {
		dropIn := filepath.Join(in.units, "canistry-api.service.d", "10-low-port.conf")
		if err := os.WriteFile(envFile, []byte(env+"API_ADDR=[::]:443\n"), 0o640); err != nil {
			t.Fatal(err)
		}
		in.deploy(t)
		if got := in.read(t, dropIn); !strings.Contains(got, "AmbientCapabilities=CAP_NET_BIND_SERVICE\n") {
			t.Errorf("drop-in = %q, want CAP_NET_BIND_SERVICE", got)
		}
		if err := os.WriteFile(envFile, []byte(env), 0o640); err != nil {
			t.Fatal(err)
		}
		in.deploy(t)
		if _, err := os.Stat(dropIn); !os.IsNotExist(err) {
			t.Errorf("drop-in still there after the port went back to 8080 (%v)", err)
		}
	})
}

func TestDeploy_DryRunChangesNothing(t *testing.T) {
	in := newInstall(t)
	r := runScript(t, in.dir, append(in.env, "SERVICE_USER=canistry-test-nobody", "SERVICE_GROUP=canistry-test-nobody"),
		"deploy.sh", "--dry-run", "--no-build")
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.out)
	}
	for _, want := range []string{
		"[dry-run] useradd --system", "[dry-run] systemctl enable", "canistry.target",
		"[dry-run] systemctl start canistry.target", "check_server.sh --wait 30",
		"canistry-api.new",
	} {
		if !strings.Contains(r.out, want) {
			t.Errorf("plan lacks %q:\n%s", want, r.out)
		}
	}
	for _, p := range []string{in.bin, in.etc, in.units} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("--dry-run created %s", p)
		}
	}
}

func TestUpdateAndRestart_RestartsOnlyChanged(t *testing.T) {
	in := newInstall(t)
	in.deploy(t)
	in.writeBinary(t, "notifier", "2")
	r := runScript(t, in.dir, in.env, "update_and_restart.sh", "--dry-run", "--no-pull")
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.out)
	}
	notifier := filepath.Join(in.bin, "canistry-notifier")
	for _, want := range []string{
		"[dry-run] cp -p " + notifier + " " + notifier + ".prev",
		"[dry-run] systemctl restart canistry-notifier.service",
		"check_server.sh --wait 30",
	} {
		if !strings.Contains(r.out, want) {
			t.Errorf("plan lacks %q:\n%s", want, r.out)
		}
	}
	for _, unwanted := range []string{"canistry-api.service", "canistry-poller.service", "daemon-reload"} {
		if strings.Contains(r.out, unwanted) {
			t.Errorf("plan touches %s, which did not change:\n%s", unwanted, r.out)
		}
	}
}

func TestUpdateAndRestart_NoBuild(t *testing.T) {
	in := newInstall(t)
	in.deploy(t)
	in.writeBinary(t, "poller", "2")
	r := runScript(t, in.dir, in.env, "update_and_restart.sh", "--dry-run", "--no-pull", "--no-build")
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.out)
	}
	if strings.Contains(r.out, "[dry-run] make") {
		t.Errorf("--no-build still builds:\n%s", r.out)
	}
	if !strings.Contains(r.out, "[dry-run] systemctl restart canistry-poller.service") {
		t.Errorf("plan lacks the poller's restart:\n%s", r.out)
	}
}

func currentUser(tb testing.TB) string {
	tb.Helper()
	u, err := user.Current()
	if err != nil {
		tb.Fatal(err)
	}
	return u.Username
}
