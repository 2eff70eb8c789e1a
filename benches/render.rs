//! The benchmark of issue 7: `cargo bench --bench render [-- OPTIONS]`.
//!
//! It times whole processes, as a user or CI runs them: the release `gitgen` binary,
//! `kubectl kustomize` and `cp -r`, each several times, and reports medians. Each ratio
//! is computed from figures taken in the same run, so the machine's load cancels out.
//! Peak memory is the child's maximum resident set size from `wait4(2)`, read through
//! `/usr/bin/time -f %M` (GNU time), in separate runs so the wall times stay clean.
//!
//! Options (after `--`):
//!   --sizes 100,1000,10000   synthetic catalog sizes (lessons; 3 stages, 5 manifests)
//!   --runs N                 runs per figure (default 5; 3 for 10,000 lessons and more),
//!                            four times as many for synthetic catalogs under 10,000
//!   --only course|synth|classroom   one part only
//!
//! Work folders live in `target/tmp/bench/` (the same file system as the repo), and are
//! removed at the end.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "../tests/support/classroom.rs"]
mod classroom_env;
#[path = "../tests/support/synth.rs"]
mod synth;

const GITGEN: &str = env!("CARGO_BIN_EXE_gitgen");

struct Options {
    sizes: Vec<usize>,
    runs: Option<usize>,
    course: bool,
    synth: bool,
    classroom: bool,
}

fn options() -> Options {
    let mut options = Options {
        sizes: vec![100, 1_000, 10_000],
        runs: None,
        course: true,
        synth: true,
        classroom: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--sizes" => {
                let list = args.next().expect("--sizes needs a value");
                options.sizes = list
                    .split(',')
                    .map(|s| s.trim().replace('_', "").parse().expect("a number"))
                    .collect();
            }
            "--runs" => options.runs = Some(args.next().expect("--runs needs a value").parse().expect("a number")),
            "--only" => {
                let only = args.next();
                options.course = only.as_deref() == Some("course");
                options.synth = only.as_deref() == Some("synth");
                options.classroom = only.as_deref() == Some("classroom");
                assert!(
                    options.course || options.synth || options.classroom,
                    "--only course|synth|classroom, not {only:?}"
                );
            }
            // `cargo bench` passes `--bench`; a filter word is ignored too.
            _ => {}
        }
    }
    options
}

// a knob of the test harness, not an input of gitgen: the ban (clippy.toml) keeps gitgen's own reads in `ProcessEnv::read`.
#[allow(clippy::disallowed_methods)]
fn main() {
    let options = options();
    // GITGEN_BENCH_DIR=/dev/shm/gitgen-bench runs everything on tmpfs, which takes the
    // disk (and its noise) out of every figure.
    let work = std::env::var_os("GITGEN_BENCH_DIR")
        .map_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench"), Into::into);
    if work.exists() {
        fs_err::remove_dir_all(&work).unwrap();
    }
    fs_err::create_dir_all(&work).unwrap();
    machine();
    if options.course {
        course(&work, options.runs.unwrap_or(10));
    }
    if options.classroom {
        classroom(&work, options.runs.unwrap_or(10));
    }
    if options.synth {
        let mut per_lesson = Vec::new();
        for &lessons in &options.sizes {
            let runs = options.runs.unwrap_or(if lessons >= 10_000 { 3 } else { 5 });
            // Below 10,000 lessons each run takes milliseconds, where one noisy neighbour
            // moves a median of five: four times the runs cost seconds.
            let runs = if lessons < 10_000 { runs * 4 } else { runs };
            per_lesson.push((lessons, synthetic(&work, lessons, runs)));
        }
        if per_lesson.len() > 1 {
            println!("\n## Time per lesson (full render)");
            let smallest = per_lesson[0].1;
            for (lessons, per) in &per_lesson {
                println!(
                    "  {lessons:>6} lessons: {:>8.1} µs/lesson   ({:+.0}% vs {} lessons)",
                    per * 1e6,
                    (per / smallest - 1.0) * 100.0,
                    per_lesson[0].0
                );
            }
        }
    }
    fs_err::remove_dir_all(&work).unwrap();
}

fn machine() {
    let cpu = fs_err::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let memory = fs_err::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .next()
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").parse::<u64>().unwrap_or(0))
        })
        .unwrap_or(0);
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("# gitgen render benchmark");
    println!(
        "machine: {cores} cores, {cpu}, {:.1} GiB memory",
        memory as f64 / 1024.0 / 1024.0
    );
    println!("binary: {GITGEN}");
}

/// Runs `command` to completion and returns its wall time; panics unless it exits with
/// one of `codes`.
fn time(command: &mut Command, codes: &[i32]) -> Duration {
    timed(command, codes).0
}

/// [`time`], also returning what the command printed on stderr.
fn timed(command: &mut Command, codes: &[i32]) -> (Duration, String) {
    command.stdout(Stdio::null()).stderr(Stdio::piped());
    let start = Instant::now();
    let output = command.output().unwrap_or_else(|e| panic!("running {command:?}: {e}"));
    let elapsed = start.elapsed();
    let code = output.status.code().unwrap_or(-1);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(codes.contains(&code), "{command:?} exited with {code}:\n{stderr}");
    (elapsed, stderr)
}

/// Peak resident memory of `program args` in MiB, from GNU time; `None` without it.
fn peak_mib(program: &str, args: &[&str], cwd: &Path) -> Option<f64> {
    if !Path::new("/usr/bin/time").exists() {
        return None;
    }
    let output = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(program)
        .args(args)
        .current_dir(cwd)
        .stdout(Stdio::null())
        .output()
        .ok()?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let kib: f64 = stderr.lines().last()?.trim().parse().ok()?;
    Some(kib / 1024.0)
}

/// The median of `runs` timings of `once` (which gets the run's index).
fn median(runs: usize, mut once: impl FnMut(usize) -> Duration) -> Duration {
    let mut times: Vec<Duration> = (0..runs).map(&mut once).collect();
    times.sort();
    times[times.len() / 2]
}

/// [`median`] after one untimed run (index `runs`), as `hyperfine --warmup` does: the
/// first run of a series otherwise pays for whatever the harness did just before it
/// (deleting hundreds of thousands of files, `sync`), which a user's second render does
/// not.
fn warm_median(runs: usize, mut once: impl FnMut(usize) -> Duration) -> Duration {
    once(runs);
    median(runs, once)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn gitgen(repo: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(GITGEN);
    command
        .arg("--repo")
        .arg(repo)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("GITGEN_ENV");
    command
}

/// Every folder under `dir` holding a `kustomization.yaml`, sorted.
fn kustomizations(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = fs_err::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            kustomizations(&path, out);
        } else if path.file_name().is_some_and(|n| n == "kustomization.yaml") && !pulls_a_url(&path) {
            out.push(dir.to_owned());
        }
    }
}

/// Whether the kustomization at `path` names a remote resource (`argocd/<env>/argocd-install`
/// pulls Argo CD's install manifest from GitHub): `kubectl kustomize` would fetch it, and
/// benchmarks never touch the network, so such a folder is left out of the comparison.
fn pulls_a_url(path: &Path) -> bool {
    fs_err::read_to_string(path).unwrap().contains("://")
}

/// A new repo of the built-in course, `work/<name>`, made by `gitgen init`.
fn init_course(work: &Path, name: &str) -> PathBuf {
    let repo = work.join(name);
    let args = [
        "init",
        repo.to_str().unwrap(),
        "--repo-url",
        "https://github.com/example/course.git",
    ];
    time(gitgen(work, &args).env_remove("GIT_DIR"), &[0]);
    repo
}

/// The built-in course, every lesson that can be enabled enabled.
fn course(work: &Path, runs: usize) {
    println!("\n## Built-in course");
    let repo = init_course(work, "course");
    let list = Command::new(GITGEN)
        .args(["--repo", repo.to_str().unwrap(), "list", "-o", "json"])
        .output()
        .unwrap();
    let lessons: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let mut enabled = 0;
    for lesson in lessons.as_array().into_iter().flatten() {
        let name = lesson["name"].as_str().unwrap();
        // A lesson that conflicts with one enabled before it is left out.
        let status = gitgen(&repo, &["enable", name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        enabled += usize::from(status.success());
    }
    let mut folders = Vec::new();
    for top in ["generated", "overlays/docker-desktop", "argocd/docker-desktop"] {
        kustomizations(&repo.join(top), &mut folders);
    }
    println!(
        "{} lessons, {enabled} enabled in docker-desktop; {} kustomizations \
         (argocd-install left out: it pulls Argo CD's manifest from GitHub)",
        lessons.as_array().map_or(0, Vec::len),
        folders.len()
    );
    let outputs = ["generated", "overlays", "argocd", "gitgen.lock"];
    let noop = warm_median(runs, |_| time(&mut gitgen(&repo, &["render"]), &[0]));
    let check = warm_median(runs, |_| time(&mut gitgen(&repo, &["render", "--check"]), &[0]));
    let check_full = warm_median(runs, |_| {
        time(&mut gitgen(&repo, &["render", "--check", "--full"]), &[0])
    });
    let forced = warm_median(runs, |_| time(&mut gitgen(&repo, &["render", "--force"]), &[0]));
    let toggle_path = repo.join("overlays/docker-desktop/lessons.yaml");
    let toggle = fs_err::read_to_string(&toggle_path).unwrap();
    let cold = median(runs, |_| {
        for name in outputs {
            let path = repo.join(name);
            if path.is_dir() {
                fs_err::remove_dir_all(&path).unwrap();
            } else if path.exists() {
                fs_err::remove_file(&path).unwrap();
            }
        }
        // The toggle file lives under overlays/: put it back before each cold render.
        fs_err::create_dir_all(toggle_path.parent().unwrap()).unwrap();
        fs_err::write(&toggle_path, &toggle).unwrap();
        time(&mut gitgen(&repo, &["render"]), &[0])
    });
    let kustomize_all = median(runs.min(3), |_| {
        folders
            .iter()
            .map(|dir| time(Command::new("kubectl").arg("kustomize").arg(dir), &[0]))
            .sum()
    });
    let kustomize_one = kustomize_all / folders.len() as u32;
    println!("gitgen render (no-op)          {:>10}", ms(noop));
    println!("gitgen render --check          {:>10}", ms(check));
    println!(
        "gitgen render --check --full   {:>10}   (renders every lesson)",
        ms(check_full)
    );
    println!(
        "gitgen render --force          {:>10}   (renders every lesson, writes nothing new)",
        ms(forced)
    );
    println!("gitgen render (cold)            {:>10}   (empty output tree)", ms(cold));
    println!(
        "kubectl kustomize, {} folders {:>10}   ({} per folder)",
        folders.len(),
        ms(kustomize_all),
        ms(kustomize_one)
    );
    println!(
        "ratio kustomize / render: {:.0}x (no-op render), {:.0}x (--check); target >= 20x, each render < 20 ms",
        kustomize_all.as_secs_f64() / noop.as_secs_f64(),
        kustomize_all.as_secs_f64() / check.as_secs_f64()
    );
    if let Some(peak) = peak_mib(GITGEN, &["render", "--check"], &repo) {
        println!("peak memory of render --check: {peak:.1} MiB");
    }
}

/// Learners in the benchmark's class (issue 17).
const LEARNERS: usize = 50;

/// Issue 17: a class of 50 learners and every lesson of the built-in course. A learner is
/// a cluster Secret in the management cluster (`gitgen classroom add`), never a file, so
/// git holds one ApplicationSet per enabled lesson and chart whatever the class's size,
/// and the render's time does not depend on it; Argo CD generates the 50 x N Applications.
fn classroom(work: &Path, runs: usize) {
    println!("\n## Classroom: {LEARNERS} learners, every lesson of the built-in course");
    let repo = init_course(work, "classroom");
    let config = fs_err::read_to_string(repo.join("gitgen.yaml")).unwrap();
    let class = classroom_env::classroom_environment("NodePort", "bench");
    fs_err::write(repo.join("gitgen.yaml"), format!("{config}{class}")).unwrap();
    let list = gitgen(&repo, &["list", "-o", "json"]).output().unwrap();
    let lessons: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let mut enabled = 0;
    for lesson in lessons.as_array().into_iter().flatten() {
        // A lesson that conflicts with one enabled before it is left out.
        let status = gitgen(
            &repo,
            &["--env", "classroom", "enable", lesson["name"].as_str().unwrap()],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
        enabled += usize::from(status.success());
    }
    let forced = warm_median(runs, |_| {
        time(&mut gitgen(&repo, &["--env", "classroom", "render", "--force"]), &[0])
    });
    let check = warm_median(runs, |_| {
        time(&mut gitgen(&repo, &["--env", "classroom", "render", "--check"]), &[0])
    });
    // The same render of an environment with nothing enabled: every lesson's bases, which
    // any environment's forced render pays for, so the difference is the classroom's own.
    let baseline = warm_median(runs, |_| {
        time(&mut gitgen(&repo, &["--env", "kind", "render", "--force"]), &[0])
    });
    let apps = repo.join("argocd/classroom/apps");
    let count = |suffix: &str| {
        fs_err::read_dir(&apps)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(suffix))
            .count()
    };
    let (sets, applications) = (count(".applicationset.yaml"), count(".application.yaml"));
    println!(
        "{enabled} lessons enabled: {sets} ApplicationSets ({enabled} lessons + {} charts) and {applications} Application (Argo CD's own) in git",
        sets - enabled
    );
    println!(
        "Argo CD generates {} Applications for {LEARNERS} learners; git holds none of them",
        sets * LEARNERS
    );
    println!(
        "gitgen --env classroom render --force   {:>10}   (every lesson; target: well under 1 s)",
        ms(forced)
    );
    println!("gitgen --env classroom render --check   {:>10}", ms(check));
    println!(
        "gitgen --env kind render --force        {:>10}   (nothing enabled: the bases alone)",
        ms(baseline)
    );
}

/// Flushes dirty pages to disk (not timed), so the next timed command starts from a
/// quiet disk.
fn sync() {
    let status = Command::new("sync").status().unwrap();
    assert!(status.success());
}

/// Copies `from` to `to` with `cp -r` (not timed).
fn copy(from: &Path, to: &Path) {
    let status = Command::new("cp").arg("-r").arg(from).arg(to).status().unwrap();
    assert!(status.success());
}

/// A synthetic catalog of `lessons` lessons. Returns the full render's time per lesson.
fn synthetic(work: &Path, lessons: usize, runs: usize) -> f64 {
    println!("\n## Synthetic catalog: {lessons} lessons, 3 stages, 5 manifests ({runs} runs each)");
    let pristine = work.join(format!("synth-{lessons}"));
    let spec = synth::SynthSpec {
        lessons,
        ..Default::default()
    };
    synth::write_repo(&pristine, &spec).unwrap();
    let run_dir = |i: usize| work.join(format!("synth-{lessons}-run{i}"));
    // Full render against the disk's floor, `cp -r` of exactly the tree render writes (the
    // first run's output: every render writes the same bytes) into a fresh folder. Each
    // run's trees are deleted once its pair is timed, so the file system holds the same
    // number of files in every run: left in place, they add up to millions of files at
    // 10,000 lessons and every later run pays for them. On ext4, creating files soon after
    // deleting many makes the inode allocator skip the recently freed ones, so whichever
    // command comes right after a deletion pays for it: the two take turns going first.
    // The page cache is flushed (`sync`, not timed) before each, so neither pays for the
    // other's write-back.
    let outputs = ["generated", "overlays", "argocd", "gitgen.lock"];
    let mut renders = Vec::new();
    let mut copies = Vec::new();
    let copy_dir = |i: usize| work.join(format!("cp-{lessons}-{i}"));
    let timed_copy = |i: usize| {
        let target = copy_dir(i);
        fs_err::create_dir_all(&target).unwrap();
        sync();
        time(
            Command::new("cp")
                .arg("-r")
                .args(outputs.iter().map(|n| run_dir(0).join(n)))
                .arg(&target),
            &[0],
        )
    };
    // One untimed render first, as the series below warm up: the first process to read
    // the binary and the freshly written catalog pays for what the next ones find cached.
    let warm_up = work.join(format!("synth-{lessons}-warm-up"));
    copy(&pristine, &warm_up);
    time(&mut gitgen(&warm_up, &["render"]), &[0]);
    fs_err::remove_dir_all(&warm_up).unwrap();
    for i in 0..runs {
        let repo = run_dir(i);
        copy(&pristine, &repo);
        let copy_first = i % 2 == 1;
        if copy_first {
            copies.push(timed_copy(i));
        }
        sync();
        renders.push(time(&mut gitgen(&repo, &["render"]), &[0]));
        if !copy_first {
            copies.push(timed_copy(i));
        }
        fs_err::remove_dir_all(copy_dir(i)).unwrap();
        if i > 0 {
            fs_err::remove_dir_all(&repo).unwrap();
        }
    }
    let (full, cp) = (median(runs, |i| renders[i]), median(runs, |i| copies[i]));
    let spread = |times: &[Duration]| {
        let list: Vec<String> = times.iter().map(|t| format!("{:.0}", t.as_secs_f64() * 1e3)).collect();
        list.join(", ")
    };
    let repo = run_dir(0);
    let (files, bytes) = tree_size(&repo, &outputs);
    sync();
    let noop = warm_median(runs, |_| time(&mut gitgen(&repo, &["render"]), &[0]));
    let check = warm_median(runs, |_| time(&mut gitgen(&repo, &["render", "--check"]), &[0]));
    let check_full = warm_median(runs, |_| {
        time(&mut gitgen(&repo, &["render", "--check", "--full"]), &[0])
    });
    // One lesson changes: a template of an enabled lesson alternates between two texts.
    let template = repo
        .join("catalog")
        .join(synth::lesson_id(lessons / 2 / 10 * 10))
        .join("app-2-configmap.yaml");
    let original = fs_err::read_to_string(&template).unwrap();
    let mut last = String::new();
    let one = warm_median(runs, |i| {
        let text = original.replace(
            "  stage: {{ stage.name }}\n",
            &format!("  stage: {{{{ stage.name }}}}\n  edit: \"{i}\"\n"),
        );
        fs_err::write(&template, text).unwrap();
        sync();
        let (elapsed, stderr) = timed(&mut gitgen(&repo, &["render"]), &[0]);
        last = stderr;
        elapsed
    });
    fs_err::write(&template, &original).unwrap();
    let peak = {
        let fresh = run_dir(1);
        copy(&pristine, &fresh);
        let peak = peak_mib(GITGEN, &["render"], &fresh);
        fs_err::remove_dir_all(&fresh).unwrap();
        peak
    };
    let per_lesson = full.as_secs_f64() / lessons as f64;
    println!("output: {files} files, {:.1} MiB", bytes as f64 / 1024.0 / 1024.0);
    println!(
        "full render                {:>10}   ({:.1} µs per lesson)",
        ms(full),
        per_lesson * 1e6
    );
    println!("cp -r of its output        {:>10}", ms(cp));
    println!(
        "  each run, in order (ms): render {}; cp -r {}",
        spread(&renders),
        spread(&copies)
    );
    println!(
        "ratio full render / cp -r: {:.2}x (target <= 1.5x)",
        full.as_secs_f64() / cp.as_secs_f64()
    );
    if let Some(peak) = peak {
        println!("peak memory, full render:  {peak:>7.1} MiB (target < 300 MiB at 10,000 lessons)");
    }
    println!(
        "no-op render               {:>10}   ({:.0}% of full; target < 25%)",
        ms(noop),
        noop.as_secs_f64() / full.as_secs_f64() * 100.0
    );
    println!(
        "render --check             {:>10}   ({:.0}% of full)",
        ms(check),
        check.as_secs_f64() / full.as_secs_f64() * 100.0
    );
    println!(
        "render --check --full      {:>10}   ({:.0}% of full)",
        ms(check_full),
        check_full.as_secs_f64() / full.as_secs_f64() * 100.0
    );
    println!(
        "one lesson changed         {:>10}   ({:.0}% of full); last run said: {}",
        ms(one),
        one.as_secs_f64() / full.as_secs_f64() * 100.0,
        last.lines().last().unwrap_or("").trim()
    );
    fs_err::remove_dir_all(&repo).unwrap();
    fs_err::remove_dir_all(&pristine).unwrap();
    per_lesson
}

/// Number of files and bytes under `names` in `root`.
fn tree_size(root: &Path, names: &[&str]) -> (usize, u64) {
    fn walk(path: &Path, files: &mut usize, bytes: &mut u64) {
        let meta = fs_err::symlink_metadata(path).unwrap();
        if meta.is_dir() {
            for entry in fs_err::read_dir(path).unwrap() {
                walk(&entry.unwrap().path(), files, bytes);
            }
        } else {
            *files += 1;
            *bytes += meta.len();
        }
    }
    let (mut files, mut bytes) = (0, 0);
    for name in names {
        walk(&root.join(name), &mut files, &mut bytes);
    }
    (files, bytes)
}
