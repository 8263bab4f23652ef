"""A model built like PyTorch's translation tutorial ("Language Translation
with nn.Transformer and torchtext"), written here for the converter's test:
the Seq2SeqTransformer with its token embedding (x * sqrt(D)), interleaved
sinusoidal positions and a seq-first nn.Transformer, the tutorial's masks,
its way of wrapping sentences (BOS ids EOS, padded with PAD) and its greedy
decoding.
"""

import math

import torch
from torch import nn

# the tutorial's special symbols
UNK_IDX, PAD_IDX, BOS_IDX, EOS_IDX = 0, 1, 2, 3


class PositionalEncoding(nn.Module):
    def __init__(self, emb_size, dropout, maxlen=5000):
        super().__init__()
        den = torch.exp(-torch.arange(0, emb_size, 2) * math.log(10000) / emb_size)
        pos = torch.arange(0, maxlen).reshape(maxlen, 1)
        pos_embedding = torch.zeros((maxlen, emb_size))
        pos_embedding[:, 0::2] = torch.sin(pos * den)
        pos_embedding[:, 1::2] = torch.cos(pos * den)
        pos_embedding = pos_embedding.unsqueeze(-2)
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("pos_embedding", pos_embedding)

    def forward(self, token_embedding):
        return self.dropout(token_embedding + self.pos_embedding[:token_embedding.size(0), :])


class TokenEmbedding(nn.Module):
    def __init__(self, vocab_size, emb_size):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, emb_size)
        self.emb_size = emb_size

    def forward(self, tokens):
        return self.embedding(tokens.long()) * math.sqrt(self.emb_size)


class Seq2SeqTransformer(nn.Module):
    def __init__(self, num_encoder_layers, num_decoder_layers, emb_size, nhead, src_vocab_size,
                 tgt_vocab_size, dim_feedforward=512, dropout=0.1, **transformer_kwargs):
        super().__init__()
        self.transformer = nn.Transformer(d_model=emb_size, nhead=nhead, num_encoder_layers=num_encoder_layers,
                                          num_decoder_layers=num_decoder_layers,
                                          dim_feedforward=dim_feedforward, dropout=dropout,
                                          **transformer_kwargs)
        self.generator = nn.Linear(emb_size, tgt_vocab_size)
        self.src_tok_emb = TokenEmbedding(src_vocab_size, emb_size)
        self.tgt_tok_emb = TokenEmbedding(tgt_vocab_size, emb_size)
        self.positional_encoding = PositionalEncoding(emb_size, dropout=dropout)

    def forward(self, src, trg, src_mask, tgt_mask, src_padding_mask, tgt_padding_mask, memory_key_padding_mask):
        src_emb = self.positional_encoding(self.src_tok_emb(src))
        tgt_emb = self.positional_encoding(self.tgt_tok_emb(trg))
        outs = self.transformer(src_emb, tgt_emb, src_mask, tgt_mask, None,
                                src_padding_mask, tgt_padding_mask, memory_key_padding_mask)
        return self.generator(outs)

    def encode(self, src, src_mask):
        return self.transformer.encoder(self.positional_encoding(self.src_tok_emb(src)), src_mask)

    def decode(self, tgt, memory, tgt_mask):
        return self.transformer.decoder(self.positional_encoding(self.tgt_tok_emb(tgt)), memory, tgt_mask)


def generate_square_subsequent_mask(sz):
    mask = (torch.triu(torch.ones((sz, sz))) == 1).transpose(0, 1)
    return mask.float().masked_fill(mask == 0, float("-inf")).masked_fill(mask == 1, float(0.0))


def create_mask(src, tgt):
    src_seq_len, tgt_seq_len = src.shape[0], tgt.shape[0]
    tgt_mask = generate_square_subsequent_mask(tgt_seq_len)
    src_mask = torch.zeros((src_seq_len, src_seq_len)).type(torch.bool)
    src_padding_mask = (src == PAD_IDX).transpose(0, 1)
    tgt_padding_mask = (tgt == PAD_IDX).transpose(0, 1)
    return src_mask, tgt_mask, src_padding_mask, tgt_padding_mask


def wrap(ids):
    """The tutorial's tensor_transform: BOS ids EOS."""
    return [BOS_IDX] + list(ids) + [EOS_IDX]


def collate(pairs):
    """The tutorial's collate_fn on already tokenized pairs: each side
    wrapped, then padded with PAD into seq-first [L, B] tensors."""
    src = nn.utils.rnn.pad_sequence([torch.tensor(wrap(s)) for s, _ in pairs], padding_value=PAD_IDX)
    tgt = nn.utils.rnn.pad_sequence([torch.tensor(wrap(t)) for _, t in pairs], padding_value=PAD_IDX)
    return src, tgt


def train(model, pairs, steps, batch_size, lr, seed):
    """The tutorial's train_epoch (teacher forcing on tgt[:-1] against
    tgt[1:], cross-entropy ignoring PAD, Adam with its betas), on batches
    drawn from `pairs` by a seeded generator; returns the last loss."""
    g = torch.Generator().manual_seed(seed)
    loss_fn = nn.CrossEntropyLoss(ignore_index=PAD_IDX)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.98), eps=1e-9)
    model.train()
    loss = None
    for _ in range(steps):
        batch = [pairs[int(i)] for i in torch.randint(len(pairs), (batch_size,), generator=g)]
        src, tgt = collate(batch)
        tgt_input = tgt[:-1, :]
        src_mask, tgt_mask, src_padding_mask, tgt_padding_mask = create_mask(src, tgt_input)
        logits = model(src, tgt_input, src_mask, tgt_mask, src_padding_mask, tgt_padding_mask, src_padding_mask)
        optimizer.zero_grad()
        loss = loss_fn(logits.reshape(-1, logits.shape[-1]), tgt[1:, :].reshape(-1))
        loss.backward()
        optimizer.step()
    model.eval()
    return float(loss)


@torch.no_grad()
def greedy_decode(model, src_ids, limit):
    """The tutorial's greedy_decode for one sentence of ids (wrapped here as
    in training): the decoder starts with BOS and appends the most probable
    token until EOS, or until `limit` tokens (EOS excluded), the limit our
    `translate` applies. Returns the output ids without BOS and EOS."""
    src = torch.tensor(wrap(src_ids)).unsqueeze(1)
    memory = model.encode(src, torch.zeros((src.shape[0], src.shape[0])).type(torch.bool))
    ys = torch.full((1, 1), BOS_IDX, dtype=torch.long)
    out = []
    while len(out) < limit:
        decoded = model.decode(ys, memory, generate_square_subsequent_mask(ys.size(0)))
        next_word = int(model.generator(decoded[-1]).argmax(dim=-1))
        if next_word == EOS_IDX:
            break
        out.append(next_word)
        ys = torch.cat([ys, torch.full((1, 1), next_word, dtype=torch.long)], dim=0)
    return out


@torch.no_grad()
def log_prob(model, src_ids, tgt_ids):
    """log p(tgt EOS | src) under teacher forcing, both sides wrapped as in
    training: what `transformer score` reports for the pair."""
    src, tgt = collate([(src_ids, tgt_ids)])
    tgt_input = tgt[:-1, :]
    src_mask, tgt_mask, src_padding_mask, tgt_padding_mask = create_mask(src, tgt_input)
    logits = model(src, tgt_input, src_mask, tgt_mask, src_padding_mask, tgt_padding_mask, src_padding_mask)
    lp = torch.log_softmax(logits[:, 0].double(), dim=-1)
    return float(lp.gather(1, tgt[1:, :]).sum())
