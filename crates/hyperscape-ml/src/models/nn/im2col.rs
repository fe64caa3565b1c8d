//! Convolution as im2col + one matrix product, with col2im as the input gradient.
//!
//! candle 0.11's CPU `conv2d` backward goes through `conv_transpose2d` (a direct loop)
//! and a kernel-gradient convolution over transposed copies; on LeNet-sized layers it
//! is several times slower than PyTorch. Unfolding the input patches once (this op)
//! turns the forward pass and both gradients into `gemm` products that candle's
//! autograd already handles; only the unfold itself needs a hand-written gradient
//! (col2im: every patch value is added back to the pixel it came from).

use candle_core::{bail, CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

/// The geometry of a square-kernel convolution on NCHW input.
#[derive(Debug, Clone, Copy)]
pub(super) struct Im2Col {
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
}

impl Im2Col {
    /// Output height and width for an `h × w` input.
    pub(super) fn out_size(&self, h: usize, w: usize) -> (usize, usize) {
        let o = |n: usize| (n + 2 * self.padding - self.kernel) / self.stride + 1;
        (o(h), o(w))
    }

    /// For each output position and each (channel, kernel row) whose source row lies
    /// inside the image: the column offset of kernel column `kj_lo`, the source pixel
    /// offset of that column and the run length (kernel columns `kj_lo..kj_hi` fall
    /// inside the image; their sources are consecutive pixels of one row).
    #[inline]
    fn for_each_run(&self, c: usize, h: usize, w: usize, mut f: impl FnMut(usize, usize, usize)) {
        let (ho, wo) = self.out_size(h, w);
        let (k, s, p) = (self.kernel, self.stride, self.padding);
        let row_len = c * k * k;
        for oy in 0..ho {
            for ox in 0..wo {
                let base = (oy * wo + ox) * row_len;
                // kernel columns kj with 0 <= ox·s + kj − p < w
                let x0 = ox * s;
                let kj_lo = p.saturating_sub(x0);
                let kj_hi = k.min((w + p).saturating_sub(x0));
                if kj_lo >= kj_hi {
                    continue;
                }
                for ki in 0..k {
                    let y = oy * s + ki;
                    if y < p || y - p >= h {
                        continue;
                    }
                    let y = y - p;
                    for ch in 0..c {
                        let col = base + (ch * k + ki) * k + kj_lo;
                        let src = (ch * h + y) * w + x0 + kj_lo - p;
                        f(col, src, kj_hi - kj_lo);
                    }
                }
            }
        }
    }
}

pub(super) fn f32_slice<'a>(s: &'a CpuStorage, l: &Layout, op: &str) -> Result<&'a [f32]> {
    let Some((start, end)) = l.contiguous_offsets() else {
        bail!("{op}: input is not contiguous")
    };
    match s {
        CpuStorage::F32(v) => Ok(&v[start..end]),
        _ => bail!("{op}: only f32 is supported"),
    }
}

impl CustomOp1 for Im2Col {
    fn name(&self) -> &'static str {
        "im2col"
    }

    /// `[b, c, h, w]` → `[b · ho · wo, c · k · k]`.
    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = f32_slice(s, l, self.name())?;
        let [b, c, h, w] = *l.dims() else {
            bail!("im2col: expected a [b, c, h, w] input, got {:?}", l.dims())
        };
        let (ho, wo) = self.out_size(h, w);
        let row_len = c * self.kernel * self.kernel;
        let per_image = ho * wo * row_len;
        let mut out = vec![0f32; b * per_image];
        out.par_chunks_mut(per_image)
            .zip(x.par_chunks(c * h * w))
            .for_each(|(cols, img)| {
                self.for_each_run(c, h, w, |col, src, len| {
                    cols[col..col + len].copy_from_slice(&img[src..src + len]);
                })
            });
        Ok((CpuStorage::F32(out), Shape::from((b * ho * wo, row_len))))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        let grad = grad_res.contiguous()?;
        let col2im = Col2Im {
            geometry: *self,
            input: arg.dims4()?,
        };
        Ok(Some(grad.apply_op1_no_bwd(&col2im)?))
    }
}

/// The gradient of [`Im2Col`]: column gradients summed back onto the input pixels.
pub(super) struct Col2Im {
    pub geometry: Im2Col,
    pub input: (usize, usize, usize, usize),
}

impl CustomOp1 for Col2Im {
    fn name(&self) -> &'static str {
        "col2im"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let g = f32_slice(s, l, self.name())?;
        let (b, c, h, w) = self.input;
        let (ho, wo) = self.geometry.out_size(h, w);
        let k = self.geometry.kernel;
        if l.dims() != [b * ho * wo, c * k * k] {
            bail!(
                "col2im: gradient of shape {:?} for input {:?}",
                l.dims(),
                self.input
            );
        }
        let mut out = vec![0f32; b * c * h * w];
        out.par_chunks_mut(c * h * w)
            .zip(g.par_chunks(ho * wo * c * k * k))
            .for_each(|(img, cols)| {
                self.geometry.for_each_run(c, h, w, |col, src, len| {
                    for (d, g) in img[src..src + len].iter_mut().zip(&cols[col..col + len]) {
                        *d += g;
                    }
                })
            });
        Ok((CpuStorage::F32(out), Shape::from((b, c, h, w))))
    }
}
