"""Directory walks skip what git ignores (nested .gitignore files, negation, .git/info/exclude), as ruff does."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from conftest import CARRY, hs_lint

# Every file of the tree holds CARRY, so a checked file shows up in the JSON findings.
TREE = {
    ".gitignore": "generated/\n*_pb2.py\n!keep_pb2.py\n/top_only.py\n",
    ".git/info/exclude": "scratch.py\n",
    "train.py": CARRY,
    "scratch.py": CARRY,
    "top_only.py": CARRY,
    "model_pb2.py": CARRY,
    "keep_pb2.py": CARRY,
    "generated/out.py": CARRY,
    "pkg/top_only.py": CARRY,  # /top_only.py is anchored to the root
    "pkg/.gitignore": "local*.py\n!local_keep.py\n!again_pb2.py\n",
    "pkg/local.py": CARRY,
    "pkg/local_keep.py": CARRY,
    "pkg/again_pb2.py": CARRY,
    "pkg/deep/local_x.py": CARRY,
}
CHECKED = {"train.py", "keep_pb2.py", "pkg/top_only.py", "pkg/local_keep.py", "pkg/again_pb2.py"}


def make(root, tree=TREE):
    for name, text in tree.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def checked(*args: str, cwd) -> set[str]:
    result = hs_lint("check", "--no-cache", "--format", "json", *args, cwd=cwd)
    assert result.returncode in (0, 1), result.stderr
    return {os.path.relpath(d["path"]).replace(os.sep, "/") if os.path.isabs(d["path"]) else d["path"]
            for d in json.loads(result.stdout)}


def test_walk_skips_what_git_ignores_at_every_level(tmp_path):
    assert checked(".", cwd=make(tmp_path)) == CHECKED


# Patterns whose meaning is easy to get wrong by hand: ** in the middle and at the start, a comment, an
# escaped #, trailing spaces, a negated directory, character classes, a pattern with a slash in a subdirectory.
TRICKY = {
    ".gitignore": "# a comment\n\\#hash.py\ndocs/**/gen_*.py\n**/cache/\nmod[0-9].py   \n!mod7.py\n/src/sub/\n!/src/sub/\n",
    "#hash.py": CARRY, "mod1.py": CARRY, "mod7.py": CARRY, "modx.py": CARRY,
    "src/a.py": CARRY, "src/cache/c.py": CARRY, "cache/d.py": CARRY,
    "docs/x/y/gen_a.py": CARRY, "docs/gen_b.py": CARRY, "docs/x/keep.py": CARRY,
    "src/.gitignore": "sub/only_here.py\n",
    "src/sub/only_here.py": CARRY, "src/sub/other.py": CARRY, "src/sub/deep/sub/only_here.py": CARRY,
}


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
@pytest.mark.parametrize("tree", [TREE, TRICKY], ids=["tree", "tricky"])
def test_walk_agrees_with_git_itself(tmp_path, tree):
    make(tmp_path, {name: text for name, text in tree.items() if not name.startswith(".git/")})
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "init", "-q", "."], cwd=tmp_path, check=True, env=env)
    (tmp_path / ".git" / "info").mkdir(exist_ok=True)
    (tmp_path / ".git" / "info" / "exclude").write_text(tree.get(".git/info/exclude", ""))
    listed = subprocess.run(["git", "ls-files", "--others", "--exclude-standard", "--", "*.py"], cwd=tmp_path,
                            check=True, capture_output=True, text=True, env=env).stdout.split()
    assert set(listed) == (CHECKED if tree is TREE else {
        "mod7.py", "modx.py", "src/a.py", "docs/x/keep.py", "src/sub/other.py", "src/sub/deep/sub/only_here.py"})
    assert checked(".", cwd=tmp_path) == set(listed)


def test_a_subdirectory_walk_honours_the_parent_gitignore(tmp_path):
    make(tmp_path)
    assert checked("pkg", cwd=tmp_path) == {p for p in CHECKED if p.startswith("pkg/")}


def test_named_files_and_directories_are_checked_even_if_ignored(tmp_path):
    make(tmp_path)
    assert checked("model_pb2.py", "pkg/local.py", cwd=tmp_path) == {"model_pb2.py", "pkg/local.py"}
    assert checked("generated", cwd=tmp_path) == {"generated/out.py"}


def test_gitignore_can_be_turned_off_on_the_command_line_and_in_the_configuration(tmp_path):
    make(tmp_path)
    every = {name for name in TREE if name.endswith(".py")}
    assert checked("--no-respect-gitignore", ".", cwd=tmp_path) == every
    (tmp_path / "pyproject.toml").write_text("[tool.hs-lint]\nrespect-gitignore = false\n")
    assert checked(".", cwd=tmp_path) == every
    assert checked("--respect-gitignore", ".", cwd=tmp_path) == CHECKED


def test_exclude_still_applies_next_to_gitignore(tmp_path):
    make(tmp_path)
    assert checked("--exclude", "pkg", ".", cwd=tmp_path) == {"train.py", "keep_pb2.py"}


def test_outside_a_git_repository_gitignore_files_mean_nothing_as_in_git(tmp_path):
    tree = {name: text for name, text in TREE.items() if not name.startswith(".git/")}
    assert checked(".", cwd=make(tmp_path, tree)) == {name for name in tree if name.endswith(".py")}


def test_a_worktree_reads_info_exclude_from_the_main_repository(tmp_path):
    main, worktree = tmp_path / "main", tmp_path / "wt"
    make(main, {".git/info/exclude": "scratch.py\n", ".git/worktrees/wt/commondir": "../..\n"})
    make(worktree, {".git": f"gitdir: {main / '.git' / 'worktrees' / 'wt'}\n", "scratch.py": CARRY,
                    "train.py": CARRY})
    assert checked(".", cwd=worktree) == {"train.py"}


def test_an_ignored_tree_says_why_nothing_was_checked(tmp_path):
    make(tmp_path, {".git/HEAD": "", ".gitignore": "*.py\n", "a.py": CARRY})
    result = hs_lint("check", ".", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout == ""
    assert "no Python files to check (all excluded or ignored by git; --no-respect-gitignore" in result.stderr
