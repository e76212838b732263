// Prints the events of chosen topics as they happen, and resumes where it stopped after a restart:
//   dotnet run --project samples/LiveNews.Listener -- http://localhost:5080 breaking latest article:my-story
using System.Text.Json;
using LiveNews.Client;

var server = args.Length > 0 ? new Uri(args[0]) : new Uri("http://localhost:5080");
string[] topics = args.Length > 1 ? args[1..] : ["live", "breaking", "latest"];
var positionsFile = Path.Combine(Path.GetTempPath(), $"livenews-listener-{server.Host}-{server.Port}.json");
var positions = File.Exists(positionsFile)
    ? JsonSerializer.Deserialize<Dictionary<string, TopicPosition>>(await File.ReadAllTextAsync(positionsFile)) ?? []
    : [];

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};

await using var client = new LiveNewsClient(new Uri(server, "/hubs/live"));
client.StateChanged += state => Console.Error.WriteLine($"[{state}]");
await client.StartAsync(stop.Token);

var gate = new SemaphoreSlim(1, 1);
await Task.WhenAll(topics.Select(async topic =>
{
    try
    {
        await foreach (var update in client.SubscribeAsync(topic, positions.GetValueOrDefault(topic), stop.Token))
        {
            Console.WriteLine(update switch
            {
                TopicSnapshot { StartedOver: true } s => $"{s.Topic} #{s.Seq} (missed too much: starting over) {s.State}",
                TopicSnapshot s => $"{s.Topic} #{s.Seq} snapshot {s.State}",
                TopicEvent e => $"{e.Topic} #{e.Seq} {e.At:HH:mm:ss} {e.Type} {e.Data}",
                _ => update.ToString(),
            });

            await gate.WaitAsync();
            try
            {
                positions[topic] = update.Position;
                await File.WriteAllTextAsync(positionsFile, JsonSerializer.Serialize(positions));
            }
            finally
            {
                gate.Release();
            }
        }
    }
    catch (OperationCanceledException)
    {
    }
}));
