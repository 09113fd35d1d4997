#!/usr/bin/env python3
"""PyTorch references for the training steps that `clap-rl bench method` times (src/algorithms/*/bench.ts).

Usage:  python3 bench/pytorch_reference.py ALGO SIZES_JSON      (ALGO: clap | bc | plas)

Each algorithm's benchmark writes the exact sizes it ran at to SIZES_JSON and calls this script in the same run;
the script builds the same architecture, runs the same steps and prints one JSON object with the median wall-clock
and process-CPU milliseconds per step after warm-up, with 1 and 2 threads (torch's intra-op threads and, when torch
uses OpenBLAS, OpenBLAS's threads: both are set).

- clap: SIZES_JSON is {"method": {preset: {"sizes": ..., "warmup_steps", "steps_measured"}}}; the C-LAP model and
  agent steps. Same as clap-rl (src/models/latent-action-model.ts, src/algorithms/clap/agent.ts): SELU MLP heads,
  uniform U(-1/sqrt(fan_in), +) init, Normal heads with sigma = softplus + min_std, GRU transition, ELBO with the six
  terms, Adam (eps 1e-5) with global-norm clip 100, imagination from all B*T posterior states through the prior with
  the box-constrained latent policy, n-step returns, actor loss through the frozen model, then the value loss.
  Differences, all standard PyTorch practice and none changing the FLOP count materially: torch.nn.GRUCell (same
  gate equations; it carries the redundant b_hr/b_hz biases) and no chunking of the start states (chunks exist in
  clap-rl only to fit the 4 GiB wasm heap; the gradient is the same).
- bc: SIZES_JSON is {"kinds": {kind: sizes}, ...}; one BC step (ReLU MLP, tanh mean, MSE or Gaussian NLL with the
  tanh-bounded log sigma, Adam with clip 100) per policy kind (src/algorithms/bc/).
- plas: SIZES_JSON is {"sizes": ..., ...}; the VAE step and the agent step (critic step to the soft clipped double-Q
  target of the target networks, actor step through the frozen decoder, Polyak update), src/algorithms/plas/.

Exits with status 2 and one line on stderr when torch is not installed (Debian: apt-get install python3-torch).
"""
import copy
import ctypes
import json
import math
import statistics
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    sys.stderr.write("pytorch_reference: torch is not installed for %s (Debian: apt-get install python3-torch)\n" % sys.executable)
    sys.exit(2)

MIN_STD = 0.1
EPSILON = 1.0  # the box half-width; timing does not depend on it
GAMMA = 0.99
ETA = 1e-4
MEAN_SCALE = 5.0
POLICY_INIT_STD = 1.0
POLICY_MIN_STD = 1e-4


def linear(i, o):
    layer = nn.Linear(i, o)
    bound = 1 / math.sqrt(i)
    nn.init.uniform_(layer.weight, -bound, bound)
    nn.init.uniform_(layer.bias, -bound, bound)
    return layer


def mlp(i, hidden, layers, o):
    dims = [i] + [hidden] * layers
    mods = []
    for a, b in zip(dims[:-1], dims[1:]):
        mods += [linear(a, b), nn.SELU()]
    return nn.Sequential(*mods, linear(dims[-1], o))


def normal_head(x, net, min_std):
    mean, raw = net(x).chunk(2, -1)
    return mean, F.softplus(raw) + min_std


def normal_logp(x, mean, std):
    z = (x - mean) / std
    return (-0.5 * z * z - torch.log(std) - 0.5 * math.log(2 * math.pi)).sum(-1)


def kl_normal(qm, qs, pm, ps):
    var_ratio = (qs / ps) ** 2
    t = ((qm - pm) / ps) ** 2
    return 0.5 * (var_ratio + t - 1 - torch.log(var_ratio)).sum(-1)


class Model(nn.Module):
    def __init__(self, s):
        super().__init__()
        H, L, E, D, Z, U = s["hidden"], s["layers"], s["embed"], s["deter"], s["stoch"], s["latent_action"]
        O, A = s["obs_dim"], s["action_dim"]
        Fd = D + Z
        self.D, self.Z = D, Z
        self.enc = mlp(O, H, L, E)
        self.trans_in = linear(Z + A, H)
        self.gru = nn.GRUCell(H, D)
        self.prior = mlp(D, H, L, 2 * Z)
        self.post = mlp(D + E, H, L, 2 * Z)
        self.dec = mlp(Fd, H, L, O)
        self.rew = mlp(Fd, H, L, 1)
        self.cont = mlp(Fd, H, L, 1)
        self.u_prior = mlp(Fd, H, L, 2 * U)
        self.u_post = mlp(Fd + A, H, L, 2 * U)
        self.act_dec = mlp(Fd + U, H, L, 2 * A)

    def transition(self, h, z, a):
        return self.gru(F.selu(self.trans_in(torch.cat([z, a], -1))), h)

    def observe(self, obs, prev_act, sample=True):
        """obs [T, B, O], prev_act [T, B, A] (time-major, as clap-rl) -> h, z, post mean/std, each [T, B, .]."""
        T, B = obs.shape[:2]
        embed = self.enc(obs)
        h = obs.new_zeros(B, self.D)
        z = obs.new_zeros(B, self.Z)
        hs, zs, ms, ss = [], [], [], []
        for t in range(T):
            h = self.transition(h, z, prev_act[t])
            m, s = normal_head(torch.cat([h, embed[t]], -1), self.post, MIN_STD)
            z = m + s * torch.randn_like(m) if sample else m
            hs.append(h)
            zs.append(z)
            ms.append(m)
            ss.append(s)
        return torch.stack(hs), torch.stack(zs), torch.stack(ms), torch.stack(ss)

    def action_mean(self, feat, u):
        m, _ = self.act_dec(torch.cat([feat, u], -1)).chunk(2, -1)
        return torch.tanh(m)

    def loss(self, obs, act, prev_act, rew, cont):
        h, z, pm, ps = self.observe(obs, prev_act)
        feat = torch.cat([h, z], -1)
        prm, prs = normal_head(h, self.prior, MIN_STD)
        O = obs.shape[-1]
        obs_nll = 0.5 * ((obs - self.dec(feat)) ** 2).sum(-1) + O * 0.5 * math.log(2 * math.pi)
        rew_nll = 0.5 * (rew - self.rew(feat).squeeze(-1)) ** 2 + 0.5 * math.log(2 * math.pi)
        logits = self.cont(feat).squeeze(-1)
        cont_nll = -(cont * logits - F.softplus(logits))
        qm, qs = normal_head(torch.cat([feat, act], -1), self.u_post, MIN_STD)
        u = qm + qs * torch.randn_like(qm)
        am, araw = self.act_dec(torch.cat([feat, u], -1)).chunk(2, -1)
        act_nll = -normal_logp(act, torch.tanh(am), F.softplus(araw) + MIN_STD)
        upm, ups = normal_head(feat, self.u_prior, MIN_STD)
        terms = [obs_nll, kl_normal(pm, ps, prm, prs), rew_nll, cont_nll, act_nll, kl_normal(qm, qs, upm, ups)]
        return sum(t.mean() for t in terms)


class Policy(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.net = mlp(s["deter"] + s["stoch"], s["policy_hidden"], s["policy_layers"], 2 * s["latent_action"])
        self.shift = math.log(math.expm1(POLICY_INIT_STD))

    def act(self, feat, mu, sigma):
        m_raw, s_raw = self.net(feat).chunk(2, -1)
        m = MEAN_SCALE * torch.tanh(m_raw / MEAN_SCALE)
        s = F.softplus(s_raw + self.shift) + POLICY_MIN_STD
        y = m + s * torch.randn_like(m)
        x = torch.tanh(y)
        logp = normal_logp(y, m, s) - torch.log(1 - x * x + 1e-6).sum(-1)
        return mu + EPSILON * sigma * x, logp


def n_step_returns(rewards, conts, values, n):
    H = len(rewards)
    out = []
    for k in range(H):
        m = min(k + n, H)
        acc, disc = rewards[k], conts[k] * GAMMA
        for j in range(k + 1, m):
            acc = acc + disc * rewards[j]
            disc = disc * conts[j] * GAMMA
        out.append(acc + disc * values[m])
    return out


def make_batch(s, gen):
    T, B, O, A = s["window"], s["batch"], s["obs_dim"], s["action_dim"]
    act = torch.tanh(torch.randn(T, B, A, generator=gen))
    prev = torch.cat([torch.zeros(1, B, A), act[:-1]])
    return torch.randn(T, B, O, generator=gen), act, prev, torch.randn(T, B, generator=gen), torch.ones(T, B)


class Steps:
    def __init__(self, s):
        torch.manual_seed(0)
        self.s = s
        self.model = Model(s)
        self.policy = Policy(s)
        self.value = mlp(s["deter"] + s["stoch"], s["agent_hidden"], s["agent_layers"], 1)
        self.model_opt = torch.optim.Adam(self.model.parameters(), lr=3e-4, eps=1e-5)
        self.actor_opt = torch.optim.Adam(self.policy.parameters(), lr=8e-5, eps=1e-5)
        self.value_opt = torch.optim.Adam(self.value.parameters(), lr=8e-5, eps=1e-5)
        gen = torch.Generator().manual_seed(1)
        self.batches = [make_batch(s, gen) for _ in range(4)]
        self.i = 0

    def next_batch(self):
        self.i += 1
        return self.batches[self.i % len(self.batches)]

    def model_step(self):
        for p in self.model.parameters():
            p.requires_grad_(True)
        obs, act, prev, rew, cont = self.next_batch()
        loss = self.model.loss(obs, act, prev, rew, cont)
        self.model_opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.model.parameters(), 100)
        self.model_opt.step()

    def agent_step(self):
        s, model = self.s, self.model
        H = s["horizon"]
        # Phase 2: the model is frozen, so no weight gradients are computed for it.
        for p in model.parameters():
            p.requires_grad_(False)
        obs, _, prev, _, _ = self.next_batch()
        with torch.no_grad():
            h, z, _, _ = model.observe(obs, prev)
        h, z = h.reshape(-1, s["deter"]), z.reshape(-1, s["stoch"])
        feats, logps = [torch.cat([h, z], -1)], []
        for _ in range(H):
            feat = feats[-1]
            mu, sigma = normal_head(feat, model.u_prior, MIN_STD)
            u, logp = self.policy.act(feat, mu, sigma)
            h = model.transition(h, z, model.action_mean(feat, u))
            pm, ps = normal_head(h, model.prior, MIN_STD)
            z = pm + ps * torch.randn_like(pm)
            feats.append(torch.cat([h, z], -1))
            logps.append(logp)
        nxt = torch.cat(feats[1:])
        rewards = model.rew(nxt).squeeze(-1).chunk(H)
        conts = torch.sigmoid(model.cont(nxt).squeeze(-1)).chunk(H)
        for p in self.value.parameters():
            p.requires_grad_(False)
        values = self.value(torch.cat(feats)).squeeze(-1).chunk(H + 1)
        R = torch.stack(n_step_returns(rewards, conts, values, s["nstep"]))
        with torch.no_grad():
            w = torch.cumprod(torch.stack([torch.ones_like(conts[0])] + list(conts[:-1])), 0)
        denom = R.numel()
        actor_loss = -(w * R).sum() / denom + ETA * (w * torch.stack(logps)).sum() / denom
        self.actor_opt.zero_grad(set_to_none=True)
        actor_loss.backward()
        nn.utils.clip_grad_norm_(self.policy.parameters(), 100)
        self.actor_opt.step()
        for p in self.value.parameters():
            p.requires_grad_(True)
        v = self.value(torch.cat(feats[:-1]).detach()).squeeze(-1)
        value_loss = (w.reshape(-1) * 0.5 * (v - R.detach().reshape(-1)) ** 2).sum() / denom
        self.value_opt.zero_grad(set_to_none=True)
        value_loss.backward()
        nn.utils.clip_grad_norm_(self.value.parameters(), 100)
        self.value_opt.step()


def timed(step, warmup, reps):
    for _ in range(warmup):
        step()
    wall, cpu = [], []
    for _ in range(reps):
        c, t = time.process_time(), time.perf_counter()
        step()
        wall.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return round(statistics.median(wall), 1), round(statistics.median(cpu), 1)


def openblas_thread_setter():
    """openblas_set_num_threads of the BLAS that torch loaded, or None.

    torch.set_num_threads does not reach OpenBLAS: Debian's torch calls the system BLAS through libblas.so.3, which
    otherwise runs one thread per core, so a "1 thread" run would still multiply with 2 threads.
    """
    with open("/proc/self/maps") as f:
        paths = sorted({line.split()[-1] for line in f if "blas" in line and line.split()[-1].startswith("/")})
    for path in paths:
        try:
            return ctypes.CDLL(path).openblas_set_num_threads
        except (OSError, AttributeError):
            continue
    return None


def with_threads(set_blas_threads, measure):
    """measure() under 1 and then 2 threads -> {"1t": ..., "2t": ...}."""
    out = {}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        if set_blas_threads is not None:
            set_blas_threads(threads)
        out["%dt" % threads] = measure()
    return out


def step_ms(step, warmup, reps):
    wall, cpu = timed(step, warmup, reps)
    return {"step_ms": wall, "step_cpu_ms": cpu}


CLAP_REQUIRED = ["batch", "window", "deter", "stoch", "hidden", "layers", "embed", "latent_action", "horizon", "obs_dim", "action_dim",
                 "policy_hidden", "policy_layers", "agent_hidden", "agent_layers", "nstep"]


def clap_reference(doc, set_blas_threads):
    section = doc.get("method", doc)
    presets = [k for k, v in section.items() if isinstance(v, dict) and "sizes" in v]
    if not presets:
        fail("the input has no method section with preset sizes")
    out = {}
    for name in presets:
        sizes = dict(section[name]["sizes"])
        missing = [k for k in CLAP_REQUIRED if k not in sizes]
        if missing:
            fail("preset '%s' lacks sizes %s" % (name, ", ".join(missing)))
        if sizes["nstep"] is None:
            sizes["nstep"] = sizes["horizon"]
        warmup, reps = section[name].get("warmup_steps", 2), section[name].get("steps_measured", 5)
        steps = Steps(sizes)

        def measure():
            m_wall, m_cpu = timed(steps.model_step, warmup, reps)
            a_wall, a_cpu = timed(steps.agent_step, warmup, reps)
            return {"model_step_ms": m_wall, "agent_step_ms": a_wall, "model_step_cpu_ms": m_cpu, "agent_step_cpu_ms": a_cpu}

        out[name] = {"sizes": sizes, "warmup_steps": warmup, "steps_measured": reps, **with_threads(set_blas_threads, measure)}
    return {"presets": out}


def relu_mlp(i, hidden, o):
    dims = [i] + list(hidden)
    mods = []
    for a, b in zip(dims[:-1], dims[1:]):
        mods += [linear(a, b), nn.ReLU()]
    return nn.Sequential(*mods, linear(dims[-1], o))


def transitions(batch, obs, action, gen):
    return (torch.randn(batch, obs, generator=gen), torch.tanh(torch.randn(batch, action, generator=gen)),
            torch.randn(batch, generator=gen), torch.randn(batch, obs, generator=gen), torch.ones(batch))


class BcStep:
    LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0

    def __init__(self, s):
        torch.manual_seed(0)
        self.gaussian = s["policy"] == "gaussian"
        self.A = s["action"]
        self.net = relu_mlp(s["obs"], [s["hidden"]] * s["layers"], (2 if self.gaussian else 1) * self.A)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=1e-3, eps=1e-8)
        self.obs, self.act = transitions(s["batch"], s["obs"], self.A, torch.Generator().manual_seed(1))[:2]

    def step(self):
        out = self.net(self.obs)
        mean = torch.tanh(out[:, :self.A])
        if self.gaussian:
            log_std = self.LOG_STD_MIN + 0.5 * (self.LOG_STD_MAX - self.LOG_STD_MIN) * (torch.tanh(out[:, self.A:]) + 1)
            loss = -normal_logp(self.act, mean, log_std.exp()).mean()
        else:
            loss = ((mean - self.act) ** 2).sum(-1).mean()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.net.parameters(), 100)
        self.opt.step()


def bc_reference(doc, set_blas_threads):
    warmup, reps = doc.get("warmup_steps", 5), doc.get("steps_measured", 50)
    kinds = {}
    for kind, sizes in doc["kinds"].items():
        step = BcStep(sizes)
        kinds[kind] = {"sizes": sizes, **with_threads(set_blas_threads, lambda: step_ms(step.step, warmup, reps))}
    return {"warmup_steps": warmup, "steps_measured": reps, "kinds": kinds}


class PlasSteps:
    LOG_STD_MIN, LOG_STD_MAX, KL_WEIGHT = -4.0, 15.0, 0.5
    MAX_LATENT, DISCOUNT, TAU, LAMBDA = 2.0, 0.99, 0.005, 0.75

    def __init__(self, s):
        torch.manual_seed(0)
        O, A, Z = s["obs"], s["action"], s["latent"]
        vae_hidden = [s["vae_hidden"]] * s["vae_layers"]
        self.Z = Z
        self.phi = s["perturbation"]
        self.encoder = relu_mlp(O + A, vae_hidden, 2 * Z)
        self.decoder = relu_mlp(O + Z, vae_hidden, A)
        self.actor = relu_mlp(O, s["actor_hidden"], Z)
        self.perturb = relu_mlp(O + A, s["actor_hidden"], A) if self.phi > 0 else None
        self.q1 = relu_mlp(O + A, s["critic_hidden"], 1)
        self.q2 = relu_mlp(O + A, s["critic_hidden"], 1)
        actor_params = list(self.actor.parameters()) + (list(self.perturb.parameters()) if self.perturb else [])
        self.actor_params = actor_params
        self.critic_params = list(self.q1.parameters()) + list(self.q2.parameters())
        self.target = [copy.deepcopy(m) for m in (self.actor, self.perturb, self.q1, self.q2)]
        self.vae_opt = torch.optim.Adam(list(self.encoder.parameters()) + list(self.decoder.parameters()), lr=1e-4, eps=1e-8)
        self.actor_opt = torch.optim.Adam(actor_params, lr=1e-4, eps=1e-8)
        self.critic_opt = torch.optim.Adam(self.critic_params, lr=1e-3, eps=1e-8)
        self.obs, self.act, self.rew, self.next_obs, self.cont = transitions(s["batch"], O, A, torch.Generator().manual_seed(1))

    def decode(self, obs, z):
        return torch.tanh(self.decoder(torch.cat([obs, z], -1)))

    def policy_action(self, obs, actor, perturb):
        a = self.decode(obs, self.MAX_LATENT * torch.tanh(actor(obs)))
        if perturb is None:
            return a
        return (a + self.phi * torch.tanh(perturb(torch.cat([obs, a], -1)))).clamp(-1, 1)

    def vae_step(self):
        out = self.encoder(torch.cat([self.obs, self.act], -1))
        mean, log_std = out[:, :self.Z], out[:, self.Z:].clamp(self.LOG_STD_MIN, self.LOG_STD_MAX)
        z = mean + log_std.exp() * torch.randn_like(mean)
        recon = ((self.decode(self.obs, z) - self.act) ** 2).mean()
        kl = -0.5 * (1 + 2 * log_std - mean ** 2 - (2 * log_std).exp()).mean()
        loss = recon + self.KL_WEIGHT * kl
        self.vae_opt.zero_grad(set_to_none=True)
        loss.backward()
        self.vae_opt.step()

    def agent_step(self):
        t_actor, t_perturb, t_q1, t_q2 = self.target
        with torch.no_grad():
            na = self.policy_action(self.next_obs, t_actor, t_perturb)
            x = torch.cat([self.next_obs, na], -1)
            q1, q2 = t_q1(x).squeeze(-1), t_q2(x).squeeze(-1)
            mixed = self.LAMBDA * torch.min(q1, q2) + (1 - self.LAMBDA) * torch.max(q1, q2)
            y = self.rew + self.DISCOUNT * self.cont * mixed
        x = torch.cat([self.obs, self.act], -1)
        critic_loss = F.mse_loss(self.q1(x).squeeze(-1), y) + F.mse_loss(self.q2(x).squeeze(-1), y)
        self.critic_opt.zero_grad(set_to_none=True)
        critic_loss.backward()
        self.critic_opt.step()
        actor_loss = -self.q1(torch.cat([self.obs, self.policy_action(self.obs, self.actor, self.perturb)], -1)).mean()
        self.actor_opt.zero_grad(set_to_none=True)
        actor_loss.backward()
        self.actor_opt.step()
        with torch.no_grad():
            for online, target in zip((self.actor, self.perturb, self.q1, self.q2), self.target):
                if online is None:
                    continue
                for p, tp in zip(online.parameters(), target.parameters()):
                    tp.mul_(1 - self.TAU).add_(self.TAU * p)


def plas_reference(doc, set_blas_threads):
    warmup, reps = doc.get("warmup_steps", 5), doc.get("steps_measured", 30)
    steps = PlasSteps(doc["sizes"])
    per = {"vae": steps.vae_step, "agent": steps.agent_step}
    return {"sizes": doc["sizes"], "warmup_steps": warmup, "steps_measured": reps,
            "steps": {k: with_threads(set_blas_threads, lambda f=f: step_ms(f, warmup, reps)) for k, f in per.items()}}


REFERENCES = {"clap": clap_reference, "bc": bc_reference, "plas": plas_reference}


def fail(message):
    sys.stderr.write("pytorch_reference: %s\n" % message)
    sys.exit(1)


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in REFERENCES:
        fail("usage: pytorch_reference.py %s SIZES_JSON" % "|".join(REFERENCES))
    with open(sys.argv[2]) as f:
        doc = json.load(f)
    torch.set_num_interop_threads(1)
    torch.zeros(2, 2) @ torch.zeros(2, 2)  # loads the BLAS library so that its thread setter can be found
    set_blas_threads = openblas_thread_setter()
    result = {"torch": torch.__version__, "python": sys.version.split()[0], "openblas_threads_set": set_blas_threads is not None}
    result.update(REFERENCES[sys.argv[1]](doc, set_blas_threads))
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
