/* Extracted from docs/csharp-unity.md (code block 2) by tests/install/extract-doc-samples.sh: edit the doc, not this file. */
using System.Collections.Generic;
using Aoai;

// The per-frame part of a MonoBehaviour, without UnityEngine so that it compiles anywhere:
// call Start once, Update every frame, Stop from OnDisable / OnDestroy.
public sealed class NpcLine
{
    private ChatOperation _op;
    private readonly List<string> _pieces = new List<string>();

    public string Text { get { return string.Concat(_pieces); } }
    public bool Finished { get; private set; }

    public void Start(AoaiClient client, string prompt)
    {
        using (var request = new ChatRequest().AddSystem("You are a terse innkeeper.").AddUser(prompt))
        {
            _op = client.StartChat(request, stream: true); // the request is copied
        }
    }

    public void Update()
    {
        if (_op == null) return;
        StreamEvent ev;
        while (_op.TryGetEvent(out ev)) // never blocks
        {
            if (ev.Kind == StreamEventKind.TextDelta && ev.Choice == 0) _pieces.Add(ev.Text);
        }
        if (_op.Poll() != OperationState.Pending) Finished = true;
    }

    public void Stop()
    {
        if (_op == null) return;
        _op.Dispose(); // cancels it if still running
        _op = null;
    }
}
