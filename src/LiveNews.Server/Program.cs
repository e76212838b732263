using LiveNews.Server.Bus;
using LiveNews.Server.Deploy;
using LiveNews.Server.Editors;
using LiveNews.Server.Feeds;
using LiveNews.Server.Newsroom;
using LiveNews.Server.Operations;
using LiveNews.Server.Push;
using LiveNews.Server.Pages;
using LiveNews.Server.Realtime;
using LiveNews.Server.Social;
using LiveNews.Server.Store;

if (VapidKeys.TryRun(args))
{
    return;
}

var builder = WebApplication.CreateBuilder(args);

builder.Services.AddOperations(builder.Configuration);
builder.Services.AddStore(builder.Configuration);
builder.Services.AddBus(builder.Configuration);
builder.Services.AddEditors(builder.Configuration);
builder.Services.AddRealtime(builder.Configuration);
builder.Services.AddNewsroom(builder.Configuration);
builder.Services.AddSocial(builder.Configuration);
builder.Services.AddPush(builder.Configuration);
builder.Services.AddFeeds(builder.Configuration);
builder.Services.AddDeploy();

var app = builder.Build();

app.UseOperations();
app.UseDrain();
app.UseBrowserClientAndSamples();
app.UseEditors();
app.UseRateLimiter();
app.UseRealtime();

app.MapOperations();
app.MapRealtime();
app.MapNewsroom();
app.MapSocial();
app.MapPush();
app.MapFeeds();
app.MapArticlePages();

app.Run();

/// <summary>The entry point, visible to the functional tests' host.</summary>
public partial class Program;
