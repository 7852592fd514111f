// A small inline SVG line chart of a segment's size over time (no chart library):
// axes with the first and last time and the size range, a title on each point.
import type { SizePoint } from "../api";
import { formatTime } from "../format";
import dayjs from "dayjs";

const WIDTH = 640;
const HEIGHT = 220;
const PAD = { left: 56, right: 16, top: 16, bottom: 36 };

export function SizeChart({ points, label, testId }: { points: SizePoint[]; label: string; testId?: string }) {
  const times = points.map((point) => dayjs(point.at).valueOf());
  const sizes = points.map((point) => point.size);
  const minT = Math.min(...times);
  const maxT = Math.max(...times);
  const maxS = Math.max(1, ...sizes);
  const innerW = WIDTH - PAD.left - PAD.right;
  const innerH = HEIGHT - PAD.top - PAD.bottom;
  const x = (time: number) => PAD.left + (maxT === minT ? innerW / 2 : ((time - minT) / (maxT - minT)) * innerW);
  const y = (size: number) => PAD.top + innerH - (size / maxS) * innerH;
  const path = points.map((point, i) => `${i === 0 ? "M" : "L"}${x(times[i]).toFixed(1)},${y(point.size).toFixed(1)}`).join(" ");
  const ticks = [0, Math.round(maxS / 2), maxS].filter((value, i, all) => all.indexOf(value) === i);
  const first = points[0];
  const last = points[points.length - 1];

  return (
    <svg
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      role="img"
      aria-label={label}
      data-testid={testId}
      style={{ width: "100%", maxWidth: WIDTH, height: "auto", display: "block" }}
    >
      <line x1={PAD.left} y1={PAD.top} x2={PAD.left} y2={PAD.top + innerH} stroke="#d9d9d9" />
      <line x1={PAD.left} y1={PAD.top + innerH} x2={PAD.left + innerW} y2={PAD.top + innerH} stroke="#d9d9d9" />
      {ticks.map((tick) => (
        <g key={tick}>
          <line x1={PAD.left - 4} y1={y(tick)} x2={PAD.left + innerW} y2={y(tick)} stroke="#f0f0f0" />
          <text x={PAD.left - 8} y={y(tick) + 4} textAnchor="end" fontSize={11} fill="#8c8c8c">
            {tick}
          </text>
        </g>
      ))}
      {first && (
        <text x={PAD.left} y={HEIGHT - 12} textAnchor="start" fontSize={11} fill="#8c8c8c">
          {dayjs(first.at).format("MM-DD HH:mm")}
        </text>
      )}
      {last && last !== first && (
        <text x={PAD.left + innerW} y={HEIGHT - 12} textAnchor="end" fontSize={11} fill="#8c8c8c">
          {dayjs(last.at).format("MM-DD HH:mm")}
        </text>
      )}
      <path d={path} fill="none" stroke="#1677ff" strokeWidth={2} />
      {points.map((point, i) => (
        <circle key={`${point.at}-${i}`} cx={x(times[i])} cy={y(point.size)} r={4} fill="#1677ff">
          <title>{`${formatTime(point.at)}: ${point.size}`}</title>
        </circle>
      ))}
    </svg>
  );
}
