// The benchmark's baseline: a minimal SignalR hub that only adds connections to a group and broadcasts,
// with no Redis and no history. LiveNews' figures are given as ratios to this one's, measured in the same run.
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;

var builder = WebApplication.CreateBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Services.AddSignalR();
var app = builder.Build();

long seq = 0;
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
app.Run();

internal sealed class BaselineHub : Hub
{
    public Task Join(string group) => Groups.AddToGroupAsync(Context.ConnectionId, group);
}
