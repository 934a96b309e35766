"""Reference renderings of chat templates for packages/transformer/test/fixtures/chat-templates.json.

Renders each template below with transformers' own chat-template renderer (apply_chat_template's
Jinja environment: sandboxed, trim_blocks, lstrip_blocks, loopcontrols, raise_exception, tojson).
The templates are written here in the formats instruct models use (ChatML, Llama-2 [INST],
Zephyr, Gemma turns, a tool-listing one), not copied from model files.

Usage (a venv with transformers):  python tools/reference/chat_templates.py > packages/transformer/test/fixtures/chat-templates.json
"""
import json

from transformers.utils.chat_template_utils import render_jinja_template

TEMPLATES = {
    "chatml": (
        "{%- if messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{%- endif %}\n"
        "{%- for message in messages %}\n"
        "    {{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}\n"
        "{%- endfor %}\n"
        "{%- if add_generation_prompt %}\n"
        "    {{- '<|im_start|>assistant\\n' }}\n"
        "{%- endif %}\n"
    ),
    "inst": (
        "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}"
        "{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}"
        "{% for message in loop_messages %}"
        "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
        "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
        "{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
        "{% else %}{% set content = message['content'] %}{% endif %}"
        "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
        "{% elif message['role'] == 'assistant' %}{{ ' ' + content.strip() + ' ' + eos_token }}{% endif %}"
        "{% endfor %}"
    ),
    "zephyr": (
        "{% for message in messages %}\n"
        "{% if message['role'] == 'user' %}\n"
        "{{ '<|user|>\\n' + message['content'] + eos_token }}\n"
        "{% elif message['role'] == 'system' %}\n"
        "{{ '<|system|>\\n' + message['content'] + eos_token }}\n"
        "{% elif message['role'] == 'assistant' %}\n"
        "{{ '<|assistant|>\\n'  + message['content'] + eos_token }}\n"
        "{% endif %}\n"
        "{% if loop.last and add_generation_prompt %}\n"
        "{{ '<|assistant|>' }}\n"
        "{% endif %}\n"
        "{% endfor %}"
    ),
    "turns": (
        "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
        "{% for message in messages %}{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
        "{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}"
        "{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}"
    ),
    "tools": (
        "{%- set ns = namespace(count=0) %}\n"
        "{%- for message in messages %}{%- if message.role == 'user' %}{%- set ns.count = ns.count + 1 %}{%- endif %}{%- endfor %}\n"
        "{{- '# ' ~ ns.count ~ ' user turn' ~ ('s' if ns.count != 1 else '') ~ '\\n' }}\n"
        "{%- if tools is defined and tools %}\n"
        "    {%- for tool in tools %}{{- 'tool: ' + tool | tojson + '\\n' }}{%- endfor %}\n"
        "{%- endif %}\n"
        "{%- for message in messages %}\n"
        "    {{- message.role | upper }}: {{ message.content | replace('\\n', ' ') }}{{ '\\n' if not loop.last }}\n"
        "{%- endfor %}\n"
        "{%- if add_generation_prompt %}{{- '\\nASSISTANT:' }}{%- endif %}"
    ),
}

CONVERSATIONS = [
    [{"role": "user", "content": "Hello!"}],
    [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "  What is 2+2?\n"}],
    [
        {"role": "user", "content": "Tell me a story."},
        {"role": "assistant", "content": "Once upon a time, there was a dragon."},
        {"role": "user", "content": "And then? Ünïcödé 😀"},
    ],
    [{"role": "user", "content": "hi"}, {"role": "user", "content": "again"}],
]

TOOLS = [{"name": "get_weather", "parameters": {"city": {"type": "string"}}}]


def main() -> None:
    cases = []
    for name, template in TEMPLATES.items():
        for i, messages in enumerate(CONVERSATIONS):
            for add in (False, True):
                extra = {"tools": TOOLS} if name == "tools" else {}
                case = {"template": name, "conversation": i, "add_generation_prompt": add, "bos_token": "<s>", "eos_token": "</s>", **extra}
                try:
                    rendered, _ = render_jinja_template(
                        conversations=[messages], chat_template=template, add_generation_prompt=add,
                        bos_token="<s>", eos_token="</s>", **extra,
                    )
                    case["rendered"] = rendered[0]
                except Exception as e:  # raise_exception in the template
                    case["error"] = str(e)
                cases.append(case)
    print(json.dumps({"templates": TEMPLATES, "conversations": CONVERSATIONS, "cases": cases}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
