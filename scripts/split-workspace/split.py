"""Moves the top-level modules of `src/` into the crates `crates.txt` names.

Run by `scripts/split-workspace.sh` at the repo root, on a clean tree: it moves the files
with `git mv` (history follows them), rewrites `crate::<module>` paths into the crate that
now holds the module, writes each crate's `Cargo.toml` from the dependencies its code
names, turns the moved `pub mod`s of `src/lib.rs` into re-exports under the same names,
and splits `build.rs` between the crates that read what it generates. It stops, before
changing anything, when a moved module refers to one that stays at the root or when the
crates would form a circle, and names the references that do it.
"""

import collections
import json
import os
import re
import subprocess
import sys
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT_PACKAGE = "gitgen"
PATH_START = re.compile(r"(?<![\w$])crate::(\w+)")


def fail(message):
    print(f"split-workspace: {message}", file=sys.stderr)
    sys.exit(2)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def write(path, text):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def snake(crate):
    return crate.replace("-", "_")


class Crate:
    def __init__(self, name, root, extras):
        self.name = name
        self.root = root  # the module whose files become the crate's root, or None
        self.extras = extras  # modules declared `pub mod` in the crate's root
        self.modules = ([root] if root else []) + extras
        self.files = {}  # old path -> new path
        self.crate_deps = collections.OrderedDict()  # crate -> first reference
        self.external = set()
        self.test_support = False

    @property
    def dir(self):
        return f"crates/{self.name}"


def read_table():
    crates = []
    for line in read(os.path.join(HERE, "crates.txt")).splitlines():
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        name, first, rest = words[0], words[1], words[2:]
        crates.append(Crate(name, None if first == "-" else first, rest))
    return crates


def module_files(module):
    """The files of a top-level module: `src/<m>.rs` and everything under `src/<m>/`."""
    files = []
    if os.path.isfile(f"src/{module}.rs"):
        files.append(f"src/{module}.rs")
    for dirpath, _, names in os.walk(f"src/{module}"):
        files.extend(os.path.join(dirpath, n) for n in sorted(names))
    if not files:
        fail(f"crates.txt names module `{module}`, but neither `src/{module}.rs` nor `src/{module}/` exists")
    return files


def new_path(crate, module, old):
    rest = old[len("src/") :]
    if module == crate.root:
        if rest in (f"{module}.rs", f"{module}/mod.rs"):
            return f"{crate.dir}/src/lib.rs"
        return f"{crate.dir}/src/{rest[len(module) + 1 :]}"
    return f"{crate.dir}/src/{rest}"


def module_path(crate, module):
    """What `crate::<module>` becomes in a crate other than `crate`."""
    return snake(crate.name) if module == crate.root else f"{snake(crate.name)}::{module}"


def code_part(line):
    """The line up to a `//` comment (a URL inside a string literal is not one)."""
    in_string = False
    i = 0
    while i < len(line) - 1:
        c = line[i]
        if c == '"' and (i == 0 or line[i - 1] != "\\"):
            in_string = not in_string
        elif not in_string and line.startswith("//", i):
            return line[:i]
        i += 1
    return line


def split_use_groups(text, home, owner):
    """`use crate::{a, b::C};` becomes one `use` per crate-level module, so each can go to
    its own crate: `use gitgen_a as a;`, `use gitgen_b::C;`."""
    out = []
    pos = 0
    pattern = re.compile(r"^([ \t]*)((?:pub(?:\([^)]*\))? )?use) crate::\{", re.M)
    for m in pattern.finditer(text):
        if m.start() < pos:
            continue
        depth, i = 1, m.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if text[i] != ";":
            continue
        inner = text[m.end() : i - 1]
        parts, depth, start = [], 0, 0
        for j, c in enumerate(inner):
            depth += {"{": 1, "}": -1}.get(c, 0)
            if c == "," and depth == 0:
                parts.append(inner[start:j])
                start = j + 1
        parts.append(inner[start:])
        parts = [" ".join(p.split()) for p in parts if p.strip()]
        first = re.match(r"\w+", parts[0]).group(0) if parts else None
        if all(re.match(r"\w+", p).group(0) == first for p in parts) and owner.get(first) is home:
            continue  # one module of this very crate: the plain rewrite handles it
        indent, keyword = m.group(1), m.group(2)
        lines = []
        for p in parts:
            lines.append(f"{indent}{keyword} crate::{p};")
        out.append(text[pos : m.start()])
        out.append("\n".join(lines))
        pos = i + 1
    out.append(text[pos:])
    return "".join(out)


def rewrite(text, home, owner, deps, problems, path):
    """Rewrites `crate::<module>` in a file of crate `home`; `deps` collects the crates its
    code refers to, `problems` the references to modules that stay at the root."""
    text = split_use_groups(text, home, owner)
    lines = text.split("\n")
    for n, line in enumerate(lines):
        code = code_part(line)

        def replace(m):
            module = m.group(1)
            in_code = m.start() < len(code)
            target = owner.get(module)
            if target is None:
                if in_code:
                    problems.append(f"{path}:{n + 1}: `crate::{module}` stays in the `{ROOT_PACKAGE}` package")
                return f"{ROOT_PACKAGE}::{module}"
            if target is home:
                return "crate" if module == home.root else m.group(0)
            if in_code:
                deps.setdefault(target.name, f"{path}:{n + 1}")
            return module_path(target, module)

        line = PATH_START.sub(replace, line)
        # `use gitgen_yaml::{self, …}` and `use gitgen_yaml;` keep the module's old name.
        for crate in set(owner.values()):
            if crate.root is None:
                continue
            short = crate.root
            here = "crate" if crate is home else snake(crate.name)
            line = re.sub(rf"\b{here}::\{{self\b(?! as)", f"{here}::{{self as {short}", line)
            line = re.sub(rf"^(\s*(?:pub(?:\([^)]*\))? )?use) {here};", rf"\1 {here} as {short};", line)
        lines[n] = line
    return "\n".join(lines)


def drop_broken_links(text, home, owner):
    """An intra-doc link to a crate that is no dependency cannot resolve: plain code."""
    reachable = {snake(home.name), "crate"} | {snake(d) for d in home.crate_deps}

    def replace(m):
        target = m.group(1).split("::")[0]
        return m.group(0) if target in reachable else f"`{m.group(1)}`"

    return re.sub(r"\[`((?:gitgen\w*)(?:::\w+)*)`\](?!\()", replace, text)


def widen_visibility(crates, texts, owner):
    """`pub(crate)` items that another crate uses become `pub`; the `#[cfg(test)]` ones among
    them are compiled for the other crates' tests through a `test-support` feature."""
    for crate in crates:
        for old, new in crate.files.items():
            if not new.endswith(".rs"):
                continue
            text = texts[new]
            pattern = re.compile(
                r"^([ \t]*)(#\[cfg\(test\)\]\n[ \t]*)?pub\(crate\) ((?:async )?fn|struct|enum|mod|const|static|type) (\w+)",
                re.M,
            )

            def replace(m):
                name = m.group(4)
                users = [
                    other
                    for other in crates + [None]
                    if other is not crate and used_from(other, crate, name, texts, owner)
                ]
                if not users:
                    return m.group(0)
                head = m.group(1)
                if m.group(2):
                    crate.test_support = True
                    head += '#[cfg(any(test, feature = "test-support"))]\n' + m.group(1)
                return f"{head}pub {m.group(3)} {name}"

            texts[new] = pattern.sub(replace, text)


def used_from(user, crate, name, texts, owner):
    """Whether crate `user` (None: the root package) names item `name` of `crate`."""
    if user is None:
        files = [p for p in root_sources() if p.endswith(".rs")]
        contents = [read(p) for p in files]
    else:
        contents = [texts[p] for p in user.files.values() if p.endswith(".rs")]
    mentions = [rf"crate::{m}\b" for m in crate.modules] + [rf"\b{snake(crate.name)}\b"]
    for text in contents:
        code = "\n".join(code_part(line) for line in text.split("\n"))
        if any(re.search(m, code) for m in mentions) and re.search(rf"(::|\.){name}\b", code):
            return True
    return False


MOVED = set()


def root_sources():
    """The files the root package keeps: `src/` but what moves, the tests and the benches."""
    kept = [os.path.join(d, n) for d, _, names in os.walk("src") for n in names]
    return sorted(p for p in kept if p not in MOVED) + [
        os.path.join(d, n)
        for top in ("tests", "benches")
        for d, _, names in os.walk(top)
        for n in names
        if n.endswith(".rs")
    ]


def external_crates(text, names):
    code = "\n".join(code_part(line) for line in text.split("\n"))
    return {n for n in names if re.search(rf"(?<![\w:]){snake(n)}::|\buse {snake(n)}\b|\b{snake(n)}!", code)}


def find_cycle(crates):
    by_name = {c.name: c for c in crates}
    state = {}

    def visit(c, trail):
        state[c.name] = "open"
        for d in c.crate_deps:
            if state.get(d) == "open":
                return trail + [c.name, d]
            if d not in state:
                found = visit(by_name[d], trail + [c.name])
                if found:
                    return found
        state[c.name] = "done"
        return None

    for c in crates:
        if c.name not in state:
            found = visit(c, [])
            if found:
                return found
    return None


def manifest_sections(text):
    """`Cargo.toml` cut at each `[header]`: (header, text) in order."""
    sections, header, start = [], None, 0
    lines = text.split("\n")
    for i, line in enumerate(lines + ["[end]"]):
        if re.match(r"^\[", line):
            sections.append((header, "\n".join(lines[start:i])))
            header, start = line.strip(), i
    return sections


def dependency_lines(body):
    """`name -> line` of a dependency table, comments kept with the line they precede."""
    out, pending = collections.OrderedDict(), []
    for line in body.split("\n")[1:]:
        m = re.match(r"^([\w-]+)\s*=", line)
        if m:
            out[m.group(1)] = "\n".join(pending + [line])
            pending = []
        elif line.strip():
            pending.append(line)
    return out


def crate_manifest(crate, description, normal, dev, internal_dev):
    lines = [
        "[package]",
        f'name = "{crate.name}"',
        f"description = {json.dumps(description)}",
        "version.workspace = true",
        "edition.workspace = true",
        "rust-version.workspace = true",
        "license.workspace = true",
        "publish = false",
        "",
    ]
    if crate.test_support:
        lines += [
            "[features]",
            "# Test builders the tests of the crates above this one share.",
            "test-support = []",
            "",
        ]
    lines += ["[dependencies]"] + [f"{d}.workspace = true" for d in normal] + [""]
    if dev or internal_dev:
        lines += ["[dev-dependencies]"]
        lines += [f'{d} = {{ workspace = true, features = ["test-support"] }}' for d in internal_dev]
        lines += [f"{d}.workspace = true" for d in dev]
        lines += [""]
    lines += ["[lints]", "workspace = true", ""]
    return "\n".join(lines)


def first_doc_sentence(text, fallback):
    doc = " ".join(l[3:].strip() for l in text.split("\n") if l.startswith("//!")).strip()
    if not doc:
        return fallback
    sentence = re.split(r"(?<=\.)\s", doc)[0].rstrip(".")
    return re.sub(r"\[`?([^`\]]+)`?\](?:\([^)]*\))?", r"\1", sentence).replace('"', "'")


def main():
    if not os.path.isfile("Cargo.toml") or not os.path.isfile("src/lib.rs"):
        fail("run me at the root of the gitgen repo")
    if os.path.isdir("crates"):
        fail("`crates/` exists already: the split has been applied")
    crates = read_table()
    owner = {m: c for c in crates for m in c.modules}

    lib = read("src/lib.rs")
    declared = set(re.findall(r"^(?:pub )?mod (\w+);", lib, re.M))
    for m in owner:
        if m not in declared:
            fail(f"crates.txt names module `{m}`, which `src/lib.rs` does not declare")

    texts = {}
    problems = []
    for crate in crates:
        for module in crate.modules:
            for old in module_files(module):
                crate.files[old] = new_path(crate, module, old)
                MOVED.add(old)
    for crate in crates:
        for old, new in crate.files.items():
            if old.endswith(".rs"):
                texts[new] = rewrite(read(old), crate, owner, crate.crate_deps, problems, old)
    if problems:
        fail("a moved module refers to one that stays at the root; move that one too (crates.txt):\n  " + "\n  ".join(problems))
    cycle = find_cycle(crates)
    if cycle:
        by_name = {c.name: c for c in crates}
        edges = [f"{a} -> {b} ({by_name[a].crate_deps[b]})" for a, b in zip(cycle, cycle[1:])]
        fail("the crates would form a circle; break one of these references:\n  " + "\n  ".join(edges))

    for crate in crates:
        for new in list(texts):
            if new.startswith(crate.dir + "/"):
                texts[new] = drop_broken_links(texts[new], crate, owner)
    widen_visibility(crates, texts, owner)

    # `env!("CARGO_MANIFEST_DIR")` was the repo root; a crate's manifest is two folders down.
    for new, text in texts.items():
        text = text.replace('env!("CARGO_MANIFEST_DIR")', 'concat!(env!("CARGO_MANIFEST_DIR"), "/../..")')
        # `include_str!("../…")` climbs out of `src/<module>/`; the file now sits one folder deeper.
        texts[new] = re.sub(r'include_str!\("((?:\.\./)+)', r'include_str!("../\1', text)

    # Extra modules are declared in the crate's root, after its own module declarations.
    for crate in crates:
        lib_path = f"{crate.dir}/src/lib.rs"
        declarations = "".join(f"pub mod {m};\n" for m in crate.extras)
        if crate.root is None:
            docs = "".join(
                f"//! - [`{m}`]: {first_doc_sentence(texts[crate.files[module_files(m)[0]]], m)}.\n"
                for m in crate.extras
            )
            texts[lib_path] = f"//! Modules below the stages that more than one of them shares.\n//!\n{docs}\n{declarations}"
        elif crate.extras:
            text = texts[lib_path]
            last = list(re.finditer(r"^(?:pub )?mod \w+;\n", text, re.M))
            at = last[-1].end() if last else text.index("\n\n") + 2
            texts[lib_path] = text[:at] + declarations + text[at:]

    # Dependencies: the crates and the external packages each crate's code names.
    manifest = read("Cargo.toml")
    sections = manifest_sections(manifest)
    bodies = {h: b for h, b in sections}
    normal_lines = dependency_lines(bodies["[dependencies]"])
    dev_lines = dependency_lines(bodies.get("[dev-dependencies]", "[dev-dependencies]"))
    all_names = list(normal_lines) + [d for d in dev_lines if d not in normal_lines]
    for crate in crates:
        code = "\n".join(t for p, t in texts.items() if p.startswith(crate.dir + "/"))
        crate.external = external_crates(code, all_names)

    build_outputs = {}
    for crate in crates:
        code = "\n".join(t for p, t in texts.items() if p.startswith(crate.dir + "/"))
        if "GITGEN_RENDERER_HASH" in code:
            build_outputs["hash"] = crate
        if "embedded_catalog.rs" in code:
            build_outputs["embed"] = crate

    # Move, then write.
    for crate in crates:
        for old, new in crate.files.items():
            os.makedirs(os.path.dirname(new), exist_ok=True)
            subprocess.run(["git", "mv", old, new], check=True)
    for crate in crates:
        for old, new in list(crate.files.items()):
            if "/snapshots/" in new and new.endswith(".snap"):
                renamed = rename_snapshot(crate, old, new)
                if renamed != new:
                    subprocess.run(["git", "mv", new, renamed], check=True)
                    crate.files[old] = renamed
    for path, text in texts.items():
        write(path, text)
    move_proptest_regressions(crates)

    support = test_support_items(crates, texts)
    for crate in crates:
        code = "\n".join(t for p, t in texts.items() if p.startswith(crate.dir + "/"))
        internal_dev = [d for d in crate.crate_deps if uses_any(code, support.get(d, []))]
        normal = list(crate.crate_deps) + [d for d in all_names if d in crate.external and d in normal_lines]
        dev = [d for d in all_names if d in crate.external and d not in normal_lines]
        root_text = texts.get(f"{crate.dir}/src/lib.rs", "")
        description = first_doc_sentence(root_text, f"gitgen's {crate.name} layer")
        write(f"{crate.dir}/Cargo.toml", crate_manifest(crate, description, normal, dev, internal_dev))
    write_build_scripts(crates, build_outputs)

    # The root package: its remaining code, the binary, tests and benches.
    root_code = "\n".join(read(p) for p in root_sources() if p.endswith(".rs"))
    root_external = external_crates(root_code, all_names)
    used_crates = [c for c in crates if any(re.search(rf"crate::{m}\b|gitgen::{m}\b", root_code) for m in c.modules)]
    write_root_manifest(sections, crates, normal_lines, dev_lines, root_external, used_crates, root_code, support)
    write_facade(lib, crates)
    rewrite_path_mentions(crates)
    print("split-workspace: moved " + ", ".join(f"{c.name} ({' '.join(c.modules)})" for c in crates))
    for c in crates:
        print(f"  {c.name} -> {', '.join(c.crate_deps) or '(no gitgen crate)'}")


TEST_SUPPORT = re.compile(r'#\[cfg\(any\(test, feature = "test-support"\)\)\]\n\s*pub (?:async )?(?:fn|mod|struct) (\w+)')


def test_support_items(crates, texts):
    """The items each crate compiles for other crates' tests: `crate -> names`."""
    items = {}
    for crate in crates:
        for p, t in texts.items():
            if p.startswith(crate.dir + "/"):
                items.setdefault(crate.name, []).extend(TEST_SUPPORT.findall(t))
        crate.test_support = bool(items[crate.name])
    return items


def uses_any(code, names):
    return any(re.search(rf"(::|\.){n}\b", code) for n in names)


def move_proptest_regressions(crates):
    """proptest keeps a source file's regressions at `proptest-regressions/<its path below
    src/>.txt` beside the crate's manifest; they follow the file to its crate."""
    for crate in crates:
        for old, new in list(crate.files.items()):
            regressions = f"proptest-regressions/{old[len('src/'):].removesuffix('.rs')}.txt"
            if not old.endswith(".rs") or not os.path.isfile(regressions):
                continue
            below_src = new[len(f"{crate.dir}/src/") :].removesuffix(".rs")
            moved = f"{crate.dir}/proptest-regressions/{below_src}.txt"
            os.makedirs(os.path.dirname(moved), exist_ok=True)
            subprocess.run(["git", "mv", regressions, moved], check=True)
            crate.files[regressions] = moved


def rename_snapshot(crate, old, new):
    """insta names a snapshot after the module path, which now starts with the crate."""
    module = next(m for m in crate.modules if old.startswith(f"src/{m}/") or old == f"src/{m}.rs")
    name = os.path.basename(new)
    old_prefix = f"{ROOT_PACKAGE}__{module}__"
    new_prefix = f"{snake(crate.name)}__" if module == crate.root else f"{snake(crate.name)}__{module}__"
    if name.startswith(old_prefix):
        name = new_prefix + name[len(old_prefix) :]
    renamed = os.path.join(os.path.dirname(new), name)
    text = read(new)
    source = re.search(r"^source: (\S+)$", text, re.M)
    if source:
        old_source = source.group(1)
        for o, n in crate.files.items():
            if o == old_source:
                text = text.replace(f"source: {old_source}", f"source: {n}", 1)
        write(new, text)
    return renamed


def write_build_scripts(crates, build_outputs):
    """`build.rs` did two jobs; each goes to the crate that reads its output, so a change to
    a render file reruns only the renderer fingerprint of the crate that reads it."""
    if not os.path.isfile("build.rs"):
        return
    original = read("build.rs")
    inputs = re.findall(r'"(src/[^"]+)"', original.split("fn main", 1)[0])
    mapped = []
    for path in inputs:
        owner_crate = next((c for c in crates for m in c.modules if path in (f"src/{m}", f"src/{m}.rs")), None)
        if owner_crate is None:
            mapped.append(path)
            continue
        module = path[len("src/") :].removesuffix(".rs")
        if path.endswith(".rs"):
            mapped.append(owner_crate.files[path])
        elif module == owner_crate.root:
            mapped.append(f"{owner_crate.dir}/src")
        else:
            mapped.append(f"{owner_crate.dir}/src/{module}")
    dirs = [p for p in mapped if not p.endswith(".rs")]
    files = [p for p in mapped if p.endswith(".rs")]
    for job, template in (("hash", "build-renderer-hash.rs"), ("embed", "build-embedded-catalog.rs")):
        crate = build_outputs.get(job)
        if crate is None:
            fail(f"no moved crate reads what build.rs's `{job}` part generates: keep build.rs at the root")
        text = read(os.path.join(HERE, template))
        text = text.replace("@HASHED_DIRS@", ", ".join(f'"{d}"' for d in dirs))
        text = text.replace("@HASHED_FILES@", "".join(f'        "{f}",\n' for f in files))
        write(f"{crate.dir}/build.rs", text)
    write("crates/build-support/collect.rs", read(os.path.join(HERE, "collect.rs")))
    subprocess.run(["git", "rm", "-q", "build.rs"], check=True)


def write_root_manifest(sections, crates, normal_lines, dev_lines, root_external, used_crates, root_code, support):
    members = [c.dir for c in crates]
    out = []
    for header, body in sections:
        if header is None:
            out.append(body)
        elif header == "[package]":
            package = tomllib.loads(body)["package"]
            body = re.sub(r"^(version|edition|rust-version|license) = .*$", r"\1.workspace = true", body, flags=re.M)
            out.append(body)
            workspace = ["", "[workspace]", "members = ["]
            workspace += [f'    "{m}",' for m in members]
            workspace += ["]", "# `cargo build`, `cargo test` and `cargo clippy` at the root cover every crate."]
            workspace += ["default-members = [", '    ".",'] + [f'    "{m}",' for m in members]
            workspace += ["]", 'resolver = "3"', "", "[workspace.package]"]
            for key in ("version", "edition", "rust-version", "license"):
                workspace.append(f'{key} = "{package[key]}"')
            workspace += ["", "[workspace.dependencies]"]
            workspace += [f'{c.name} = {{ path = "{c.dir}" }}' for c in crates]
            workspace += list(normal_lines.values())
            workspace += [line for name, line in dev_lines.items() if name not in normal_lines]
            out.append("\n".join(workspace))
        elif header == "[dependencies]":
            lines = ["[dependencies]"] + [f"{c.name}.workspace = true" for c in used_crates]
            lines += [f"{d}.workspace = true" for d in normal_lines if d in root_external]
            out.append("\n".join(lines) + "\n")
        elif header == "[dev-dependencies]":
            lines = ["[dev-dependencies]"]
            lines += [
                f'{c.name} = {{ workspace = true, features = ["test-support"] }}'
                for c in used_crates
                if uses_any(root_code, support.get(c.name, []))
            ]
            lines += [f"{d}.workspace = true" for d in dev_lines if d not in normal_lines and d in root_external]
            out.append("\n".join(lines) + "\n")
        elif header == "[lints.clippy]":
            out.append(body.replace("[lints.clippy]", "[workspace.lints.clippy]", 1))
            out.append("[lints]\nworkspace = true\n")
        else:
            out.append(body)
    write("Cargo.toml", "\n".join(out))


def rewrite_path_mentions(crates):
    """Docs, comments and tests that name a moved file or folder name its new place.
    BENCHMARKS.md is a record of past measurements, each of the tree it was taken on."""
    renames = {}
    for crate in crates:
        for module in crate.modules:
            folder = f"{crate.dir}/src/" if module == crate.root else f"{crate.dir}/src/{module}/"
            renames[f"src/{module}/"] = folder
        renames.update((old, new) for old, new in crate.files.items())
    pattern = re.compile(
        r"(?<![\w./-])(" + "|".join(re.escape(o) for o in sorted(renames, key=len, reverse=True)) + r")"
    )
    listed = subprocess.run(
        ["git", "ls-files", "*.md", "*.rs", ".ci/run"], check=True, capture_output=True, text=True
    ).stdout.split()
    for path in listed:
        if path == "BENCHMARKS.md" or path.startswith("scripts/") or not os.path.isfile(path):
            continue
        text = read(path)
        changed = pattern.sub(lambda m: renames[m.group(1)], text)
        if changed != text:
            write(path, changed)


def write_facade(lib, crates):
    """`src/lib.rs` keeps every old module path, so the binary, the tests and the benches
    are unchanged: a moved `pub mod x;` becomes `pub use gitgen_x as x;`."""
    for crate in crates:
        for m in crate.modules:
            target = snake(crate.name) if m == crate.root else f"{snake(crate.name)}::{m}"
            alias = f"pub use {target} as {m};" if m == crate.root else f"pub use {target};"
            lib, count = re.subn(rf"^(?:pub )?mod {m};$", alias, lib, count=1, flags=re.M)
            if not count:
                fail(f"`src/lib.rs` does not declare `mod {m};`")
    note = "// The stages are crates of their own (`crates/`), re-exported under their module names.\n"
    at = re.search(r"^pub use gitgen_", lib, re.M).start()
    write("src/lib.rs", lib[:at] + note + lib[at:])


if __name__ == "__main__":
    main()
