"""Tests of scripts/licences.py's licence, source and ban rules on made-up `cargo metadata`."""

import unittest

import licences

CRATES_IO = licences.CRATES_IO


def metadata(*packages):
    """A workspace member `app` depending (normally) on each of `packages`: (name, licence, source)."""
    members = [{"id": "app", "name": "app", "version": "0.1.0", "license": "Apache-2.0", "source": None}]
    deps = [{"id": name, "name": name, "version": "1.0.0", "license": licence, "source": source}
            for name, licence, source in packages]
    nodes = [{"id": "app", "deps": [{"pkg": d["id"], "dep_kinds": [{"kind": None}]} for d in deps]}]
    nodes += [{"id": d["id"], "deps": []} for d in deps]
    return {"packages": members + deps, "workspace_members": ["app"], "resolve": {"nodes": nodes}}


class Rules(unittest.TestCase):
    def test_allowed_licences_and_choices_pass(self):
        found = licences.problems(metadata(("a", "MIT OR Apache-2.0", CRATES_IO),
                                           ("b", "(MIT OR Apache-2.0) AND Unicode-3.0", CRATES_IO),
                                           ("c", "MIT/Apache-2.0", CRATES_IO)))
        self.assertEqual(found, [])

    def test_a_copyleft_licence_is_named(self):
        found = licences.problems(metadata(("gpl-thing", "GPL-3.0-only", CRATES_IO)))
        self.assertEqual(len(found), 1)
        self.assertIn("gpl-thing", found[0])

    def test_an_and_with_a_disallowed_part_fails(self):
        self.assertTrue(licences.problems(metadata(("x", "MIT AND GPL-2.0-only", CRATES_IO))))

    def test_the_lgpl_exception_is_for_wireguard_control_alone(self):
        self.assertEqual(licences.problems(metadata(("wireguard-control", "LGPL-2.1-or-later", CRATES_IO))), [])
        self.assertTrue(licences.problems(metadata(("other", "LGPL-2.1-or-later", CRATES_IO))))

    def test_other_sources_and_banned_crates_fail(self):
        self.assertTrue(licences.problems(metadata(("g", "MIT", "git+https://example.com/g"))))
        self.assertTrue(licences.problems(metadata(("openssl-sys", "MIT", CRATES_IO))))

    def test_dev_dependencies_are_not_shipped(self):
        meta = metadata(("gpl-test-helper", "GPL-3.0-only", CRATES_IO))
        meta["resolve"]["nodes"][0]["deps"][0]["dep_kinds"] = [{"kind": "dev"}]
        self.assertEqual(licences.problems(meta), [])


if __name__ == "__main__":
    unittest.main()
