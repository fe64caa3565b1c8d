//! Training speed of the candle networks: epoch times of an MLP 784-256-128-10 (ReLU,
//! Adam) and of the default LeNet-5 (`LeNetSpec::default()`, Adam) on 28×28 images,
//! batch 128, for each thread count. `scripts/bench-training.sh` runs it next to
//! `bench/torch_training.py` (the same networks in PyTorch) and compares.
//!
//! Usage: `cargo bench -p hyperscape-ml --bench training -- [--data DIR] [--rows N]
//! [--threads 1,2] [--epochs 3] [--models mlp,lenet] [--batch 128]`
//!
//! `--data DIR` reads the uncompressed Fashion-MNIST training IDX files
//! (`train-images-idx3-ubyte`, `train-labels-idx1-ubyte`) from DIR; without it the
//! data are synthetic (seeded uniform pixels, 10 classes), labelled as such in the
//! output. Prints one JSON object per (model, threads): the epoch times and their
//! median.

use std::path::Path;
use std::time::Instant;

use candle_core::Device;
use hyperscape_ml::data::ImageShape;
use hyperscape_ml::metrics::Metrics;
use hyperscape_ml::model::Control;
use hyperscape_ml::models::nn::{train, Activation, Data, LeNetSpec, Net, Optimiser, TrainConfig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

struct Args {
    data: Option<String>,
    rows: usize,
    threads: Vec<usize>,
    epochs: u32,
    models: Vec<String>,
    batch: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        data: None,
        rows: 60_000,
        threads: vec![1, 2],
        epochs: 3,
        models: vec!["mlp".into(), "lenet".into()],
        batch: 128,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--bench" {
            continue;
        }
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        let list = |v: String| v.split(',').map(str::to_string).collect::<Vec<_>>();
        let num = |v: String| v.parse::<usize>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--data" => a.data = Some(value()?),
            "--rows" => a.rows = num(value()?)?,
            "--epochs" => a.epochs = num(value()?)? as u32,
            "--batch" => a.batch = num(value()?)?,
            "--models" => a.models = list(value()?),
            "--threads" => {
                a.threads = list(value()?)
                    .into_iter()
                    .map(num)
                    .collect::<Result<_, _>>()?
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(a)
}

/// An uncompressed IDX file: its dimensions and bytes.
fn read_idx(path: &Path) -> Result<(Vec<usize>, Vec<u8>), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 || bytes[2] != 8 {
        return Err(format!("{}: not an unsigned-byte IDX file", path.display()));
    }
    let rank = bytes[3] as usize;
    let header = 4 + 4 * rank;
    let dims: Vec<usize> = (0..rank)
        .map(|i| {
            let o = 4 + 4 * i;
            u32::from_be_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]) as usize
        })
        .collect();
    let n: usize = dims.iter().product();
    if bytes.len() != header + n {
        return Err(format!(
            "{}: {} bytes for dims {dims:?}",
            path.display(),
            bytes.len()
        ));
    }
    Ok((dims, bytes[header..].to_vec()))
}

/// (pixels in [0, 1], labels, description).
fn load(args: &Args) -> Result<(Vec<f32>, Vec<u32>, String), String> {
    match &args.data {
        Some(dir) => {
            let dir = Path::new(dir);
            let (dims, px) = read_idx(&dir.join("train-images-idx3-ubyte"))?;
            let (_, labels) = read_idx(&dir.join("train-labels-idx1-ubyte"))?;
            if dims[1..] != [28, 28] {
                return Err(format!("expected 28×28 images, got {dims:?}"));
            }
            let n = args.rows.min(dims[0]);
            let x = px[..n * 784].iter().map(|&p| p as f32 / 255.0).collect();
            let y = labels[..n].iter().map(|&l| l as u32).collect();
            Ok((x, y, format!("fashion-mnist ({n} rows)")))
        }
        None => {
            let mut rng = ChaCha8Rng::seed_from_u64(0);
            let n = args.rows;
            let x = (0..n * 784)
                .map(|_| rng.random_range(0.0f32..1.0))
                .collect();
            let y = (0..n).map(|_| rng.random_range(0..10u32)).collect();
            Ok((x, y, format!("synthetic 28x28 ({n} rows)")))
        }
    }
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    s[s.len() / 2]
}

fn main() -> Result<(), String> {
    let args = parse_args()?;
    let (x, y, what) = load(&args)?;
    let dev = Device::Cpu;
    let data = Data::new(x.clone(), 784, y.clone(), 10, &dev).map_err(|e| e.to_string())?;
    // A few validation rows so the per-epoch callback fires (and times the epochs).
    let valid = Data::new(x[..784 * 16].to_vec(), 784, y[..16].to_vec(), 10, &dev)
        .map_err(|e| e.to_string())?;
    let shape = ImageShape {
        channels: 1,
        height: 28,
        width: 28,
    };
    for model in &args.models {
        for &threads in &args.threads {
            // candle's matrix products split their work into RAYON_NUM_THREADS parts;
            // match the pool size (set before any kernel runs in this configuration).
            std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
            let net = match model.as_str() {
                "mlp" => Net::mlp(784, &[256, 128], Activation::Relu, 0.0, 10, 0, &dev),
                "lenet" => Net::lenet(shape, &LeNetSpec::default(), 10, 0, &dev),
                other => return Err(format!("unknown model {other}")),
            }
            .map_err(|e| e.to_string())?;
            let mut cfg = TrainConfig::new(Optimiser::adam(1e-3), args.batch, args.epochs, 0);
            cfg.threads = threads;
            let mut times = Vec::new();
            let mut last = Instant::now();
            let mut cb = |_: u32, _: &Metrics| {
                let now = Instant::now();
                times.push((now - last).as_secs_f64());
                last = now;
                Control::Continue
            };
            let report =
                train(&net, &data, Some(&valid), &cfg, Some(&mut cb)).map_err(|e| e.to_string())?;
            let loss = report.train_loss.last().copied().unwrap_or(f64::NAN);
            println!(
                "{{\"framework\": \"hyperscape\", \"model\": \"{model}\", \"threads\": {threads}, \
                 \"batch\": {}, \"data\": \"{what}\", \"epoch_seconds\": {times:?}, \
                 \"median_seconds\": {:.4}, \"final_train_loss\": {loss:.4}}}",
                args.batch,
                median(&times)
            );
        }
    }
    Ok(())
}
