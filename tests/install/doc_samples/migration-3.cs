/* Extracted from docs/migration.md (code block 3) by tests/install/extract-doc-samples.sh: edit the doc, not this file. */
using System;
using System.Threading;
using System.Threading.Tasks;
using Aoai;

public static class ChatMigration
{
    // llm.invoke("Name three primes.")
    public static string Invoke(AoaiClient client)
    {
        return client.Chat("Name three primes.");
    }

    // await client.chat.completions.create(model=..., messages=[...], temperature=0.2, max_tokens=50)
    public static async Task<string> Create(AoaiClient client, CancellationToken cancel)
    {
        using (var request = new ChatRequest().AddSystem("You are terse.").AddUser("Name three primes."))
        {
            request.Temperature = 0.2;
            request.MaxTokens = 50;
            ChatResponse response = await client.ChatAsync(request, cancel);
            Console.WriteLine("{0} tokens, request {1}", response.Usage.TotalTokens, response.RequestId);
            return response.Text;
        }
    }
}
