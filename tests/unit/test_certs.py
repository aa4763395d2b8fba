"""kubeadm certs check-expiration output, parsed."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from cockpit.domain.certs import parse_check_expiration, residual_text

OUTPUT = """\
[check-expiration] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...
[check-expiration] Use 'kubeadm init phase upload-config --config your-config-file' to re-upload it.

CERTIFICATE                EXPIRES                  RESIDUAL TIME   CERTIFICATE AUTHORITY   EXTERNALLY MANAGED
admin.conf                 Aug 19, 2026 09:03 UTC   12d             ca                      no
apiserver                  Aug 19, 2026 09:03 UTC   12d             ca                      no
etcd-server                Sep 30, 2027 09:03 UTC   1y              etcd-ca                 yes
!MISSING! front-proxy-client

CERTIFICATE AUTHORITY   EXPIRES                  RESIDUAL TIME   EXTERNALLY MANAGED
ca                      Aug 17, 2035 09:03 UTC   9y              no
"""
NOW = datetime(2026, 8, 7, 9, 0, tzinfo=timezone.utc)


def test_rows_of_both_tables_are_read():
    report = parse_check_expiration("cp-1", OUTPUT)
    names = [c.name for c in report.certificates]
    assert names == ["admin.conf", "apiserver", "etcd-server", "front-proxy-client", "ca"]
    apiserver, etcd, missing, ca = report.certificates[1:]
    assert apiserver.expires == datetime(2026, 8, 19, 9, 3, tzinfo=timezone.utc) and apiserver.authority == "ca"
    assert etcd.externally_managed and etcd.authority == "etcd-ca"
    assert missing.missing and missing.expires is None
    assert ca.is_ca and ca.authority == "" and not ca.externally_managed


def test_expiring_lists_missing_and_soon_expiring_soonest_first():
    due = parse_check_expiration("cp-1", OUTPUT).expiring(NOW, within_days=30)
    assert [c.name for c in due] == ["front-proxy-client", "admin.conf", "apiserver"]
    assert round(due[1].days_left(NOW)) == 12


def test_residual_time_renders_like_kubeadm():
    assert [residual_text(s) for s in (-5, 30, 600, 7200, 86400 * 12, 86400 * 400)] == \
        ["<invalid>", "30s", "10m", "2h", "12d", "1y"]
    assert residual_text(timedelta(days=364, hours=23).total_seconds()) == "364d"
