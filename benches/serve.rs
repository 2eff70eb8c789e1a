//! The `gitgen serve` benchmark of issue 28: `cargo bench --bench serve [-- --runs N]`.
//!
//! Server side, without sockets: the time from the cluster's answer (a classroom of 50
//! learners x 20 enabled lessons, one Application per cell) to the bytes of both replies a
//! browser asks for, the whole page (`/`) and the live state (`/api/state`), through the
//! same [`Site::reply`] the server calls. The course is a synthetic catalog of 20 lessons
//! (`tests/support/synth.rs`) with a classroom environment. Reports the median and the
//! slowest run, and fails when the median page takes 50 ms or more.
//!
//! The work folder lives in `target/tmp/bench-serve/` and is removed at the end.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use gitgen::catalog::labels::{LEARNER_LABEL, LESSON_LABEL, STAGE_LABEL};
use gitgen::cluster::grid::{ClassStatus, GridLesson, class_grid};
use gitgen::cluster::{AppStatus, Classroom, Learner};
use gitgen::serve::model::{LiveState, LiveView};
use gitgen::serve::routes::Site;
use gitgen::settings::Settings;
use gitgen::workspace::Workspace;
use http::{Method, StatusCode};

#[path = "../tests/support/classroom.rs"]
mod classroom_env;
#[path = "../tests/support/synth.rs"]
mod synth;

const LEARNERS: usize = 50;
const LESSONS: usize = 20;
const TARGET: Duration = Duration::from_millis(50);

fn main() {
    let mut args = std::env::args().skip(1);
    let mut runs = 200;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).expect("--runs needs a number"),
            // `cargo bench` passes `--bench`.
            "--bench" => {}
            other => panic!("unknown option `{other}`"),
        }
    }
    let work = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/tmp/bench-serve");
    let _ = fs_err::remove_dir_all(&work);
    let repo = work.join("repo");
    let spec = synth::SynthSpec {
        lessons: LESSONS,
        ..Default::default()
    };
    synth::write_repo(&repo, &spec).unwrap();
    let mut config = fs_err::read_to_string(repo.join("gitgen.yaml")).unwrap();
    config.push_str(&classroom_env::classroom_environment("NodePort", "bench"));
    fs_err::write(repo.join("gitgen.yaml"), config).unwrap();

    let settings = Settings::resolve(Some(&repo), Some("classroom")).unwrap();
    let workspace = Workspace::open_read_only(settings).unwrap();
    let classroom = gitgen::classroom::of(&workspace.settings).expect("a classroom environment");
    let state = class_state(&classroom);
    let site = Site::new(workspace, "https://argocd.example", false).unwrap();

    // Each run: the view of the cluster's answer, the page and the JSON; their sum is the
    // figure, the parts say where the time goes.
    let mut runs_taken: Vec<[Duration; 3]> = Vec::with_capacity(runs);
    let mut bytes = 0;
    for _ in 0..runs {
        let started = Instant::now();
        let view = LiveView::of(&state, site.links());
        let viewed = Instant::now();
        let page = site.reply(&Method::GET, Some("localhost"), "/", &view);
        let paged = Instant::now();
        let json = site.reply(&Method::GET, Some("localhost"), "/api/state", &view);
        let done = Instant::now();
        runs_taken.push([viewed - started, paged - viewed, done - paged]);
        assert_eq!((page.status, json.status), (StatusCode::OK, StatusCode::OK));
        bytes = page.body.len() + json.body.len();
    }
    let median = |part: &dyn Fn(&[Duration; 3]) -> Duration| {
        let mut times: Vec<Duration> = runs_taken.iter().map(part).collect();
        times.sort();
        (times[times.len() / 2], times[times.len() - 1])
    };
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (total, slowest) = median(&|r| r.iter().sum());
    println!(
        "{LEARNERS} learners x {LESSONS} lessons: live view + page + JSON ({} KiB) in {:.2} ms median, {:.2} ms slowest of {runs}",
        bytes / 1024,
        ms(total),
        ms(slowest),
    );
    println!(
        "  medians: live view {:.2} ms, page {:.2} ms, JSON {:.2} ms",
        ms(median(&|r| r[0]).0),
        ms(median(&|r| r[1]).0),
        ms(median(&|r| r[2]).0),
    );
    fs_err::remove_dir_all(&work).unwrap();
    assert!(total < TARGET, "median {total:?}, target {TARGET:?}");
}

/// The classroom as the management cluster would answer: every learner registered,
/// every cell one Application, a third of them still Progressing.
fn class_state(classroom: &Classroom) -> LiveState {
    let lessons: Vec<GridLesson> = (0..LESSONS)
        .map(|i| GridLesson {
            lesson: synth::lesson_id(i),
            stage: "stage-2".into(),
            stages: vec!["stage-0".into(), "stage-1".into(), "stage-2".into()],
        })
        .collect();
    let learners: Vec<Learner> = (0..LEARNERS)
        .map(|i| Learner {
            name: format!("learner-{i:02}"),
            cluster_name: format!("classroom-learner-{i:02}"),
            server: format!("https://10.0.{i}.1:6443"),
            labels: BTreeMap::new(),
            stage_holds: BTreeMap::new(),
        })
        .collect();
    let mut apps = Vec::new();
    for (l, learner) in learners.iter().enumerate() {
        for (c, lesson) in lessons.iter().enumerate() {
            let health = if (l + c) % 3 == 0 { "Progressing" } else { "Healthy" };
            apps.push(AppStatus {
                name: format!("{}-classroom-{}", lesson.lesson, learner.name),
                labels: [
                    (LEARNER_LABEL, learner.name.as_str()),
                    (LESSON_LABEL, lesson.lesson.as_str()),
                    (STAGE_LABEL, "stage-2"),
                ]
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
                sync: "Synced".into(),
                health: health.into(),
                revision: None,
                message: (health != "Healthy").then(|| "waiting for the Deployment".to_owned()),
                problems: Vec::new(),
            });
        }
    }
    let status = ClassStatus::of(classroom, class_grid(lessons, &learners, &apps), None);
    LiveState::Class(status, classroom.commands.clone())
}
