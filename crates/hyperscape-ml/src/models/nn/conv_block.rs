//! One fused LeNet block: convolution (im2col + one matrix product) + bias +
//! activation + 2×2 pooling, as a single candle op with a hand-written backward.
//!
//! The unfused chain (im2col, product, bias broadcast, permute to NCHW, activation,
//! pooling) spends most of its time in candle's element-wise kernels and in fresh
//! buffers: each step reads and writes the whole activation map again, the permute
//! copies it, and the backward pass adds as many kernels again (the activation's
//! mask, the bias's reduction, the permute back). This op keeps the product's output
//! in the layout `gemm` writes (`[b · ho · wo, c_out]`, channels last), adds the bias
//! and applies the activation in one pass, and pools straight from that layout into
//! the NCHW output the dense layers read. Its backward routes the pooled gradient
//! through the pooling and the activation's derivative in one pass (also summing the
//! bias gradient), then takes the kernel gradient and the input gradient as two
//! products (the latter folded back by col2im). It keeps the unfolded input and the
//! activated map of the forward pass for that.
//!
//! The values and gradients are those of the unfused chain (`Net::forward` keeps it as
//! the reference; the tests compare both): max pooling routes a window's gradient to
//! its first maximum, average pooling spreads it evenly, and an odd last row or column
//! is dropped. Activations: ReLU (derivative 0 at 0, as candle's within ties), tanh
//! and sigmoid, whose derivatives follow from the activated value; GELU keeps the
//! unfused path. f32 on the CPU only.

use std::sync::Mutex;

use candle_core::{bail, CpuStorage, CustomOp1, CustomOp3, Device, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::im2col::{f32_slice, Col2Im, Im2Col};
use super::{Activation, Pooling};

/// What the forward pass keeps for the backward pass.
struct Saved {
    /// The unfolded input, `[b · ho · wo, c_in · k · k]`.
    cols: Tensor,
    /// The activated convolution output, `[b, ho, wo, c_out]` (channels last).
    act: Vec<f32>,
}

/// conv(`geometry`) + bias → activation → 2×2 pooling, on `(x [b, c_in, h, w], w
/// [c_out, c_in, k, k], bias [c_out])`, giving `[b, c_out, ho / 2, wo / 2]`.
pub(super) struct ConvBlock {
    geometry: Im2Col,
    activation: Activation,
    pooling: Pooling,
    saved: Mutex<Option<Saved>>,
}

impl ConvBlock {
    /// `None` for an activation the op does not fuse (GELU).
    pub(super) fn new(geometry: Im2Col, activation: Activation, pooling: Pooling) -> Option<Self> {
        match activation {
            Activation::Relu | Activation::Tanh | Activation::Sigmoid => Some(Self {
                geometry,
                activation,
                pooling,
                saved: Mutex::new(None),
            }),
            Activation::Gelu => None,
        }
    }

    #[inline]
    fn activate(&self, z: f32) -> f32 {
        match self.activation {
            Activation::Relu => z.max(0.0),
            Activation::Tanh => z.tanh(),
            Activation::Sigmoid => 1.0 / (1.0 + (-z).exp()),
            Activation::Gelu => unreachable!("GELU is not fused"),
        }
    }

    /// The activation's derivative, from the activated value.
    #[inline]
    fn derivative(&self, a: f32) -> f32 {
        match self.activation {
            Activation::Relu => {
                if a > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::Tanh => 1.0 - a * a,
            Activation::Sigmoid => a * (1.0 - a),
            Activation::Gelu => unreachable!("GELU is not fused"),
        }
    }
}

/// The offsets (in units of `c_out`, within one image's `[ho, wo, c_out]` map) of the
/// pooling window at pooled position (i, j), in PyTorch's scan order.
#[inline]
fn window(wo: usize, i: usize, j: usize) -> [usize; 4] {
    let top = 2 * i * wo + 2 * j;
    [top, top + 1, top + wo, top + wo + 1]
}

fn f32_vec(t: &Tensor) -> Result<Vec<f32>> {
    t.flatten_all()?.to_vec1::<f32>()
}

impl CustomOp3 for ConvBlock {
    fn name(&self) -> &'static str {
        "conv-bias-act-pool"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let [b, c_in, h, w] = *l1.dims() else {
            bail!(
                "{}: expected a [b, c, h, w] input, got {:?}",
                self.name(),
                l1.dims()
            )
        };
        let [c_out, wc, k, k2] = *l2.dims() else {
            bail!(
                "{}: expected a [c_out, c_in, k, k] kernel, got {:?}",
                self.name(),
                l2.dims()
            )
        };
        if wc != c_in || k != k2 || k != self.geometry.kernel || l3.dims() != [c_out] {
            bail!(
                "{}: input {:?}, kernel {:?} and bias {:?} do not match",
                self.name(),
                l1.dims(),
                l2.dims(),
                l3.dims()
            )
        }
        let kernel = f32_slice(s2, l2, self.name())?;
        let bias = f32_slice(s3, l3, self.name())?;
        let (ho, wo) = self.geometry.out_size(h, w);
        let (hp, wp) = (ho / 2, wo / 2);
        let (CpuStorage::F32(cols), cols_shape) = self.geometry.cpu_fwd(s1, l1)? else {
            bail!("{}: im2col gave a non-f32 result", self.name())
        };
        let cols = Tensor::from_vec(cols, cols_shape, &Device::Cpu)?;
        let kernel = Tensor::from_slice(kernel, (c_out, c_in * k * k), &Device::Cpu)?;
        let mut act = f32_vec(&cols.matmul(&kernel.t()?)?)?;
        let plane = ho * wo * c_out;
        let mut out = vec![0f32; b * c_out * hp * wp];
        if hp * wp > 0 {
            out.par_chunks_mut(c_out * hp * wp)
                .zip(act.par_chunks_mut(plane))
                .for_each(|(o, a)| {
                    for row in a.chunks_exact_mut(c_out) {
                        for (v, &bv) in row.iter_mut().zip(bias) {
                            *v = self.activate(*v + bv);
                        }
                    }
                    for i in 0..hp {
                        for j in 0..wp {
                            let win = window(wo, i, j);
                            for ch in 0..c_out {
                                let v = win.map(|p| a[p * c_out + ch]);
                                o[(ch * hp + i) * wp + j] = match self.pooling {
                                    Pooling::Max => {
                                        v[1..].iter().fold(v[0], |m, &x| if x > m { x } else { m })
                                    }
                                    Pooling::Avg => 0.25 * (v[0] + v[1] + v[2] + v[3]),
                                };
                            }
                        }
                    }
                });
        }
        *self.saved.lock().unwrap_or_else(|e| e.into_inner()) = Some(Saved { cols, act });
        Ok((CpuStorage::F32(out), Shape::from((b, c_out, hp, wp))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        kernel: &Tensor,
        _bias: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let saved = self.saved.lock().unwrap_or_else(|e| e.into_inner());
        let Some(Saved { cols, act }) = saved.as_ref() else {
            bail!("{}: backward before forward", self.name())
        };
        let (b, c_in, h, w) = x.dims4()?;
        let (c_out, _, k, _) = kernel.dims4()?;
        let (ho, wo) = self.geometry.out_size(h, w);
        let (hp, wp) = (ho / 2, wo / 2);
        let g = f32_vec(grad_res)?;
        let plane = ho * wo * c_out;
        // ∂loss/∂(conv + bias), channels last, and the bias gradient per image.
        let mut dz = vec![0f32; b * plane];
        let mut db_parts = vec![0f32; b * c_out];
        if hp * wp > 0 {
            dz.par_chunks_mut(plane)
                .zip(act.par_chunks(plane))
                .zip(g.par_chunks(c_out * hp * wp))
                .zip(db_parts.par_chunks_mut(c_out))
                .for_each(|(((d, a), gi), db)| {
                    for i in 0..hp {
                        for j in 0..wp {
                            let win = window(wo, i, j);
                            for ch in 0..c_out {
                                let gv = gi[(ch * hp + i) * wp + j];
                                match self.pooling {
                                    Pooling::Max => {
                                        let mut best = win[0] * c_out + ch;
                                        for p in &win[1..] {
                                            if a[p * c_out + ch] > a[best] {
                                                best = p * c_out + ch;
                                            }
                                        }
                                        d[best] = gv * self.derivative(a[best]);
                                    }
                                    Pooling::Avg => {
                                        for p in win {
                                            let q = p * c_out + ch;
                                            d[q] = 0.25 * gv * self.derivative(a[q]);
                                        }
                                    }
                                }
                            }
                        }
                    }
                    for row in d.chunks_exact(c_out) {
                        for (s, v) in db.iter_mut().zip(row) {
                            *s += v;
                        }
                    }
                });
        }
        let mut db = vec![0f32; c_out];
        for part in db_parts.chunks_exact(c_out) {
            for (s, v) in db.iter_mut().zip(part) {
                *s += v;
            }
        }
        let dev = x.device();
        let dz = Tensor::from_vec(dz, (b * ho * wo, c_out), dev)?;
        let dkernel = dz.t()?.matmul(cols)?.reshape(kernel.shape())?;
        let dbias = Tensor::from_vec(db, c_out, dev)?;
        // The input gradient only where the input needs one (not for the data).
        let dx = if x.track_op() {
            let kmat = kernel.detach().reshape((c_out, c_in * k * k))?;
            let dcols = dz.matmul(&kmat)?;
            let col2im = Col2Im {
                geometry: self.geometry,
                input: (b, c_in, h, w),
            };
            Some(dcols.apply_op1_no_bwd(&col2im)?)
        } else {
            None
        };
        Ok((dx, Some(dkernel), Some(dbias)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Var;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random(rng: &mut ChaCha8Rng, dims: &[usize]) -> Var {
        let n = dims.iter().product();
        let v: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
        Var::from_tensor(&Tensor::from_vec(v, dims, &Device::Cpu).unwrap()).unwrap()
    }

    /// Every gradient of the op (input, kernel, bias) against central differences of
    /// a random linear function of its output, on odd map sizes and with a stride.
    #[test]
    fn gradients_match_finite_differences() {
        let cases = [
            (Activation::Tanh, Pooling::Max, 1, 1),
            (Activation::Sigmoid, Pooling::Max, 2, 1),
            (Activation::Tanh, Pooling::Avg, 1, 0),
            (Activation::Relu, Pooling::Avg, 1, 1),
            (Activation::Relu, Pooling::Max, 1, 1),
        ];
        for (case, &(activation, pooling, stride, padding)) in cases.iter().enumerate() {
            let mut rng = ChaCha8Rng::seed_from_u64(case as u64);
            let x = random(&mut rng, &[2, 2, 9, 8]);
            let w = random(&mut rng, &[3, 2, 3, 3]);
            let b = random(&mut rng, &[3]);
            let geometry = Im2Col {
                kernel: 3,
                stride,
                padding,
            };
            let op = || ConvBlock::new(geometry, activation, pooling).unwrap();
            let out = x.apply_op3(&w, &b, op()).unwrap();
            let r = random(&mut rng, out.dims()).as_tensor().clone();
            let loss = || {
                x.apply_op3(&w, &b, op())
                    .unwrap()
                    .mul(&r)
                    .unwrap()
                    .sum_all()
                    .unwrap()
            };
            let grads = loss().backward().unwrap();
            let what = format!("{activation:?} {pooling:?} stride {stride} padding {padding}");
            for (name, var) in [("input", &x), ("kernel", &w), ("bias", &b)] {
                let g = f32_vec(grads.get(var).unwrap()).unwrap();
                let v0 = f32_vec(var).unwrap();
                let h = 2e-3f32;
                for i in (0..v0.len()).step_by(v0.len() / 7 + 1) {
                    let at = |d: f32| {
                        let mut v = v0.clone();
                        v[i] += d;
                        var.set(&Tensor::from_vec(v, var.shape(), &Device::Cpu).unwrap())
                            .unwrap();
                        loss().to_scalar::<f32>().unwrap() as f64
                    };
                    let fd = (at(h) - at(-h)) / (2.0 * h as f64);
                    at(0.0);
                    let tol = 3e-3 + 0.02 * fd.abs();
                    assert!(
                        (g[i] as f64 - fd).abs() <= tol,
                        "{what}: {name} {i}: {} vs {fd}",
                        g[i]
                    );
                }
            }
        }
    }

    #[test]
    fn rejects_mismatched_shapes() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let x = random(&mut rng, &[1, 2, 6, 6]);
        let w = random(&mut rng, &[3, 1, 3, 3]);
        let b = random(&mut rng, &[3]);
        let geometry = Im2Col {
            kernel: 3,
            stride: 1,
            padding: 0,
        };
        let op = ConvBlock::new(geometry, Activation::Relu, Pooling::Max).unwrap();
        let err = x.apply_op3(&w, &b, op).unwrap_err().to_string();
        assert!(err.contains("do not match"), "{err}");
        assert!(ConvBlock::new(geometry, Activation::Gelu, Pooling::Max).is_none());
    }
}
