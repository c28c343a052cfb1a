/* Extracted from docs/csharp-unity.md (code block 1) by tests/install/extract-doc-samples.sh: edit the doc, not this file. */
using System;
using System.Threading;
using System.Threading.Tasks;
using Aoai;

public static class QuickStart
{
    // Configuration from the environment: AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY,
    // AZURE_OPENAI_DEPLOYMENT_NAME (see docs/configuration.md).
    public static async Task Run(CancellationToken cancel)
    {
        using (AoaiClient client = AoaiClient.FromEnvironment())
        using (var request = new ChatRequest().AddSystem("You are terse.").AddUser("Name three primes."))
        {
            Console.WriteLine(client.Chat("Say hello to a C# programmer.")); // blocking one-liner

            request.MaxTokens = 50;
            try
            {
                ChatResponse response = await client.ChatAsync(request, cancel); // cancel closes the connection
                Console.WriteLine("{0} ({1} tokens)", response.Text, response.Usage.TotalTokens);
            }
            catch (AoaiRateLimitException e)
            {
                Console.Error.WriteLine("rate limited; retry after {0}", e.RetryAfter);
            }
            catch (AoaiContentFilterException e)
            {
                Console.Error.WriteLine("blocked: {0}", string.Join(",", e.Categories));
            }
        }
    }
}
