/* ui: the terminal game. `play` puts a human on the left against the learning
 * AI on the right; `watch` shows the AI against the tracker or itself. Both
 * run the core at CORE_STEP_HZ in a fixed-step loop, record every frame into
 * the save (one transaction per round), train the AI between rounds and show
 * its progress, curves and live class probabilities.
 *
 * Screen states: PLAY (the ball is in play or about to be served), BETWEEN
 * (a round ended: training and its panel), MATCH_OVER (play only: rematch
 * prompt). Pause, help and a too small terminal stop the clock in any state
 * without changing it. */
#ifndef TTYPONG_UI_H
#define TTYPONG_UI_H

/* The smallest usable terminal, in cells. Below it the game pauses and
 * shows a request for a larger window. */
#define UI_MIN_COLS 40
#define UI_MIN_ROWS 15

/* Redraws per second, the most the loop does at any speed. */
#define UI_FPS 60

/* Runs `ttypong play [OPTIONS]`; argv[0] is "play". Returns the exit
 * status: 0 after a quit, 1 when the save or the terminal failed, and 2 for
 * a usage error or when stdin or stdout is not a terminal. After SIGINT,
 * SIGTERM or SIGHUP it saves the match and returns 128 + the signal number. */
int ui_cmd_play(int argc, char **argv);

/* Runs `ttypong watch [OPTIONS]`; same contract as ui_cmd_play(). */
int ui_cmd_watch(int argc, char **argv);

#endif
