/**
 * Chat prompts: the model's own Jinja template (`tokenizer.chat_template`), or a builtin format
 * recognised from the vocabulary when the GGUF file has none.
 *
 * The Gemma, ChatML, Llama 2 and Llama 3 builtins produce exactly the strings of the Rust CLI's
 * templates (rust/model/src/chat.rs), so `wasm-chord chat` and this package send the same tokens.
 * No builtin emits the BOS token: tokenization with addSpecial adds it, and a Jinja template's
 * leading BOS text is stripped, so BOS is never doubled.
 */

import { Template } from './vendor/jinja.js';
import { InvalidRequestError } from './errors.js';

/** A message after validation: text content only. */
export interface TemplateMessage {
  role: string;
  content: string;
}

export const BUILTIN_CHAT_TEMPLATES = [
  'gemma',
  'chatml',
  'llama2',
  'llama3',
  'mistral',
  'phi3',
  'alpaca',
] as const;
export type BuiltinChatTemplate = (typeof BUILTIN_CHAT_TEMPLATES)[number];

export type ChatTemplateChoice =
  | { type: 'builtin'; name: BuiltinChatTemplate }
  | { type: 'jinja'; source: string };

/** Tokens a Jinja template may reference. */
export interface TemplateTokens {
  bosToken: string | null;
  eosToken: string | null;
  addBos: boolean;
}

export function isBuiltinChatTemplate(name: string): name is BuiltinChatTemplate {
  return (BUILTIN_CHAT_TEMPLATES as readonly string[]).includes(name);
}

/** Renders a conversation, ending with the cue for the assistant's turn. */
export function renderChat(
  choice: ChatTemplateChoice,
  messages: readonly TemplateMessage[],
  tokens: TemplateTokens,
): string {
  if (choice.type === 'builtin') return renderBuiltin(choice.name, messages);
  const text = renderJinja(choice.source, messages, tokens);
  // Many templates start with `{{ bos_token }}`; tokenizing with addSpecial adds BOS again.
  if (tokens.addBos && tokens.bosToken && text.startsWith(tokens.bosToken)) {
    return text.slice(tokens.bosToken.length);
  }
  return text;
}

/** Compiled templates, keyed by source: a model's template is parsed once, not per request. */
const compiled = new Map<string, Template>();

function renderJinja(source: string, messages: readonly TemplateMessage[], tokens: TemplateTokens): string {
  let template = compiled.get(source);
  try {
    if (!template) {
      template = new Template(source);
      compiled.set(source, template);
    }
    // Templates without a system role (Gemma 1 and 2 raise an error on one) get the system text
    // merged into the next message, as llama.cpp's chat layer and the Rust side (chat.rs) do.
    if (messages[0]?.role === 'system' && !supportsSystemRole(source, template)) {
      const [system, next, ...rest] = messages;
      messages = next ? [{ role: next.role, content: `${system.content}\n${next.content}` }, ...rest] : [];
    }
    return template.render({
      messages: messages.map((m) => ({ role: m.role, content: m.content })),
      add_generation_prompt: true,
      bos_token: tokens.bosToken ?? '',
      eos_token: tokens.eosToken ?? '',
    });
  } catch (err) {
    // Includes the template's own raise_exception('…') (built into the Jinja engine) for
    // conversations it rejects, e.g. "Conversation roles must alternate user/assistant".
    throw new InvalidRequestError(`chat template: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
}

/** Per source: whether the template shows a leading system message (see supportsSystemRole). */
const systemRole = new Map<string, boolean>();

/**
 * Whether a template renders a leading system message: no error, and its text in the output
 * (llama.cpp probes the same way, watching whether the template reads the system content).
 */
function supportsSystemRole(source: string, template: Template): boolean {
  let yes = systemRole.get(source);
  if (yes === undefined) {
    const probe = 'wasm-chord system probe';
    try {
      const out = template.render({
        messages: [
          { role: 'system', content: probe },
          { role: 'user', content: 'u' },
        ],
        add_generation_prompt: false,
        bos_token: '',
        eos_token: '',
      });
      yes = out.includes(probe);
    } catch {
      yes = false;
    }
    systemRole.set(source, yes);
  }
  return yes;
}

function renderBuiltin(name: BuiltinChatTemplate, messages: readonly TemplateMessage[]): string {
  let out = '';
  switch (name) {
    case 'gemma': {
      // Gemma has no system role: the system texts (trimmed, joined) open the next turn that is
      // not the model's, as in llama.cpp's builtin "gemma" and the Rust CLI; contents are trimmed.
      let system = '';
      for (const m of messages) {
        if (m.role === 'system') {
          system += m.content.trim();
          continue;
        }
        const role = m.role === 'assistant' ? 'model' : m.role;
        out += `<start_of_turn>${role}\n`;
        if (system !== '' && role !== 'model') {
          out += `${system}\n\n`;
          system = '';
        }
        out += `${m.content.trim()}<end_of_turn>\n`;
      }
      return out + '<start_of_turn>model\n';
    }
    case 'chatml':
      for (const m of messages) out += `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`;
      return out + '<|im_start|>assistant\n';
    case 'llama3':
      for (const m of messages) {
        out += `<|start_header_id|>${m.role}<|end_header_id|>\n\n${m.content.trim()}<|eot_id|>`;
      }
      return out + '<|start_header_id|>assistant<|end_header_id|>\n\n';
    case 'llama2': {
      // Meta's template: the system block and the first user text are stripped together; the
      // first BOS comes from tokenization, later user turns open with `<s>` text and replies
      // close with `</s>`, which are parsed as the special tokens.
      let system = '';
      for (const m of messages) {
        if (m.role === 'system') system = `<<SYS>>\n${m.content}\n<</SYS>>\n\n`;
        else if (m.role === 'user') {
          out += `${out === '' ? '' : '<s>'}[INST] ${(system + m.content).trim()} [/INST]`;
          system = '';
        } else out += ` ${m.content.trim()} </s>`;
      }
      return out;
    }
    case 'mistral': {
      // Mistral v1/v3 instruct: no system role, so the system text opens the next user turn.
      let system = '';
      for (const m of messages) {
        if (m.role === 'system') system = `${m.content}\n\n`;
        else if (m.role === 'user') {
          out += `[INST] ${system}${m.content.trim()}[/INST]`;
          system = '';
        } else out += ` ${m.content.trim()}</s>`;
      }
      return out;
    }
    case 'phi3':
      for (const m of messages) out += `<|${m.role}|>\n${m.content}<|end|>\n`;
      return out + '<|assistant|>\n';
    case 'alpaca': {
      // For models without chat tokens: plain-text instruction format.
      for (const m of messages) {
        if (m.role === 'system') out += `${m.content}\n\n`;
        else if (m.role === 'user') out += `### Instruction:\n${m.content}\n\n`;
        else out += `### Response:\n${m.content}\n\n`;
      }
      return out + '### Response:\n';
    }
  }
}

/** What chooseChatTemplate needs to know about the model. */
export interface TemplateProbe {
  chatTemplate: string | null;
  tokenizerModel: string;
  /** true when `text`, tokenized with parseSpecial, is exactly one token of the vocabulary. */
  isSingleToken(text: string): boolean | Promise<boolean>;
}

/**
 * The template for a model: an explicit override (builtin name or Jinja source), else the model's
 * own, else a builtin recognised from the vocabulary's special tokens, in the Rust CLI's order
 * (Gemma, Llama 3, ChatML) with Phi-3 and Mistral added; SentencePiece models without any of
 * them get Llama 2 (as the CLI), other models Alpaca, which needs no special tokens.
 */
export async function chooseChatTemplate(probe: TemplateProbe, override?: string): Promise<ChatTemplateChoice> {
  if (override !== undefined) {
    if (isBuiltinChatTemplate(override)) return { type: 'builtin', name: override };
    if (override.includes('{{') || override.includes('{%')) {
      try {
        compiled.set(override, new Template(override));
      } catch (err) {
        throw new InvalidRequestError(`chatTemplate: not a valid Jinja template: ${(err as Error).message}`);
      }
      return { type: 'jinja', source: override };
    }
    throw new InvalidRequestError(
      `chatTemplate: ${JSON.stringify(override)} is neither a builtin (${BUILTIN_CHAT_TEMPLATES.join(', ')}) nor a Jinja template`,
    );
  }
  if (probe.chatTemplate) return { type: 'jinja', source: probe.chatTemplate };
  const has = (t: string) => probe.isSingleToken(t);
  if (await has('<start_of_turn>')) return { type: 'builtin', name: 'gemma' };
  if (await has('<|start_header_id|>')) return { type: 'builtin', name: 'llama3' };
  if (await has('<|im_start|>')) return { type: 'builtin', name: 'chatml' };
  if ((await has('<|assistant|>')) && (await has('<|end|>'))) return { type: 'builtin', name: 'phi3' };
  if (await has('[INST]')) return { type: 'builtin', name: 'mistral' };
  if (probe.tokenizerModel === 'llama') return { type: 'builtin', name: 'llama2' };
  return { type: 'builtin', name: 'alpaca' };
}
