// The benchmark's .NET peers, in one process: a minimal SignalR hub that only adds connections to a group
// and broadcasts (/hubs/baseline, POST /publish), and a raw Kestrel WebSocket broadcast (/ws,
// POST /publish-raw, see RawBroadcast). Neither has Redis or history. LiveNews' figures are given as ratios
// to theirs, measured in the same run.
using System.Text.Json;
using LiveNews.Bench.Baseline;
using Microsoft.AspNetCore.SignalR;

var builder = WebApplication.CreateBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Services.AddSignalR();
builder.Services.AddSingleton<RawBroadcast>();
var app = builder.Build();

long seq = 0;
app.UseWebSockets();
app.MapHub<BaselineHub>("/hubs/baseline");
app.MapGet("/health", () => "ok");
app.MapPost("/publish", async (HttpRequest request, IHubContext<BaselineHub> hub) =>
{
    using var body = await JsonDocument.ParseAsync(request.Body);
    var envelope = new
    {
        topic = "breaking",
        seq = Interlocked.Increment(ref seq),
        epoch = "baseline",
        id = Guid.NewGuid().ToString("N"),
        type = "breaking.published",
        at = DateTimeOffset.UtcNow,
        data = body.RootElement.Clone(),
    };
    await hub.Clients.Group("breaking").SendAsync("event", envelope);
    return Results.Ok(new { envelope.seq });
});
app.MapRawBroadcast();
app.Run();

internal sealed class BaselineHub : Hub
{
    public Task Join(string group) => Groups.AddToGroupAsync(Context.ConnectionId, group);
}
