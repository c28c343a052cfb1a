/* Extracted from docs/migration.md (code block 5) by tests/install/extract-doc-samples.sh: edit the doc, not this file. */
using System;
using Aoai;

public static class StreamMigration
{
    // for chunk in client.chat.completions.create(..., stream=True): print(chunk...delta.content)
    public static ChatResponse Story(AoaiClient client)
    {
        using (var request = new ChatRequest().AddUser("Tell me a story"))
        {
            request.StreamIncludeUsage = true;
            return client.ChatStream(request, ev =>
            {
                if (ev.Kind == StreamEventKind.TextDelta) Console.Write(ev.Text);
                return true; // false stops the stream and closes the connection
            });
        }
    }
}
